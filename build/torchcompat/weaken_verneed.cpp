// Marks a version need (default GLIBCXX_3.4.32) of an ELF64 shared object as VER_FLG_WEAK, so the
// dynamic loader accepts a libstdc++ that lacks that version. Idempotent; edits the file in place.
// Usage: weaken_verneed FILE [VERSION]   (toolchain.md §1.1, step 1)
#include <elf.h>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 2) { std::fprintf(stderr, "usage: weaken_verneed FILE [VERSION]\n"); return 2; }
    const std::string version = argc > 2 ? argv[2] : "GLIBCXX_3.4.32";
    std::vector<char> buf;
    {
        std::ifstream in(argv[1], std::ios::binary);
        if (!in) { std::fprintf(stderr, "weaken_verneed: cannot read %s\n", argv[1]); return 1; }
        buf.assign(std::istreambuf_iterator<char>(in), {});
    }
    if (buf.size() < sizeof(Elf64_Ehdr) || std::memcmp(buf.data(), ELFMAG, SELFMAG) != 0 || buf[EI_CLASS] != ELFCLASS64) {
        std::fprintf(stderr, "weaken_verneed: %s is not an ELF64 file\n", argv[1]); return 1;
    }
    auto* eh = reinterpret_cast<Elf64_Ehdr*>(buf.data());
    auto* sh = reinterpret_cast<Elf64_Shdr*>(buf.data() + eh->e_shoff);
    int changed = 0, found = 0;
    for (int i = 0; i < eh->e_shnum; ++i) {
        if (sh[i].sh_type != SHT_GNU_verneed) continue;
        const char* strtab = buf.data() + sh[sh[i].sh_link].sh_offset;
        size_t off = sh[i].sh_offset;
        for (;;) {
            auto* vn = reinterpret_cast<Elf64_Verneed*>(buf.data() + off);
            size_t aoff = off + vn->vn_aux;
            for (int a = 0; a < vn->vn_cnt; ++a) {
                auto* aux = reinterpret_cast<Elf64_Vernaux*>(buf.data() + aoff);
                if (version == strtab + aux->vna_name) {
                    ++found;
                    if (!(aux->vna_flags & VER_FLG_WEAK)) { aux->vna_flags |= VER_FLG_WEAK; ++changed; }
                }
                if (aux->vna_next == 0) break;
                aoff += aux->vna_next;
            }
            if (vn->vn_next == 0) break;
            off += vn->vn_next;
        }
    }
    if (changed > 0) {
        std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
        out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (!out) { std::fprintf(stderr, "weaken_verneed: cannot write %s\n", argv[1]); return 1; }
    }
    std::printf("weaken_verneed: %s: %d need(s) of %s, %d newly weakened\n", argv[1], found, version.c_str(), changed);
    return 0;
}
