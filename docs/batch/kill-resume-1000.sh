#!/bin/bash
# Run from a folder holding jobs.jsonl: 10 lines {"class": C, "count": 100, "seed": 5000}, C = 0..9. Uses the Release build of var.
V="dotnet /work/batch/src/Cli/bin/Release/net10.0/linux-x64/var.dll batch jobs.jsonl --model fmnist"
start=$(date +%s.%N); $V --out clean > clean.log 2>&1; echo "clean rc=$? $(echo "$(date +%s.%N) - $start" | bc) s"
for target in $(shuf -i 50-950 -n 3 | sort -n); do
  $V --out resumed > resumed.log 2>&1 & pid=$!
  while kill -0 $pid 2>/dev/null && [ "$(cat resumed/manifest.jsonl 2>/dev/null | wc -l)" -lt "$target" ]; do sleep 0.05; done
  sleep 0.0$((RANDOM % 10)); kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  echo "killed at target $target: $(wc -l < resumed/manifest.jsonl) lines, $(ls resumed | grep -c png) pngs, $(ls -a resumed | grep -c '\.tmp$') tmp"
done
$V --out resumed > final.log 2>&1; echo "final rc=$?"; tail -1 final.log | head -c 300; echo
(cd clean && sha256sum *.png | sort) > clean.sha; (cd resumed && sha256sum *.png | sort) > resumed.sha
echo "pngs clean $(wc -l < clean.sha) resumed $(wc -l < resumed.sha); identical: $(cmp -s clean.sha resumed.sha && echo yes || echo no)"
echo "manifest lines $(wc -l < resumed/manifest.jsonl), distinct files $(python3 -c "import json;print(len({json.loads(l)['file'] for l in open('resumed/manifest.jsonl')}))"), tmp left $(ls -a resumed | grep -c '\.tmp$')"
