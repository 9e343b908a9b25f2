// libvarpeak.so: an exact counter of the bytes live in the C heap, for the benches' peak-memory columns.
//
// Preloaded (LD_PRELOAD=.../libvarpeak.so dotnet var.dll bench ...), it wraps malloc, calloc, realloc, free and the
// aligned allocators (libtorch's CPU tensors come from posix_memalign) around glibc's own __libc_* entry points and
// keeps the sum of malloc_usable_size over live blocks, and its peak since the last varpeak_reset(). The resident size
// (VmHWM) the benches also report depends on what glibc keeps cached after a free (its mmap threshold rises with every
// large free, so later tensors come from the heap and stay resident); this counter sees only what the code holds.
// The C# side (Var.Cli.Commands.ResidentMemory) finds varpeak_* in the process and reports them where present.
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <malloc.h>

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void __libc_free(void*);
void* __libc_memalign(size_t, size_t);
}

namespace {
std::atomic<int64_t> live{0};
std::atomic<int64_t> peak{0};

inline void added(void* p) {
    if (p == nullptr) return;
    int64_t now = live.fetch_add(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed) +
                  static_cast<int64_t>(malloc_usable_size(p));
    int64_t seen = peak.load(std::memory_order_relaxed);
    while (now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
}

inline void removed(void* p) {
    if (p != nullptr) live.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
}
}  // namespace

extern "C" {
__attribute__((visibility("default"))) void* malloc(size_t n) {
    void* p = __libc_malloc(n);
    added(p);
    return p;
}

__attribute__((visibility("default"))) void* calloc(size_t count, size_t n) {
    void* p = __libc_calloc(count, n);
    added(p);
    return p;
}

__attribute__((visibility("default"))) void* realloc(void* old, size_t n) {
    size_t before = old != nullptr ? malloc_usable_size(old) : 0;
    void* p = __libc_realloc(old, n);
    if (p == nullptr && n != 0) return nullptr;  // the old block is untouched
    live.fetch_sub(static_cast<int64_t>(before), std::memory_order_relaxed);
    added(p);
    return p;
}

__attribute__((visibility("default"))) void free(void* p) {
    removed(p);
    __libc_free(p);
}

__attribute__((visibility("default"))) void* memalign(size_t alignment, size_t n) {
    void* p = __libc_memalign(alignment, n);
    added(p);
    return p;
}

__attribute__((visibility("default"))) void* aligned_alloc(size_t alignment, size_t n) { return memalign(alignment, n); }

__attribute__((visibility("default"))) int posix_memalign(void** out, size_t alignment, size_t n) {
    if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
    void* p = __libc_memalign(alignment, n);
    if (p == nullptr && n != 0) return ENOMEM;
    added(p);
    *out = p;
    return 0;
}

__attribute__((visibility("default"))) void* valloc(size_t n) { return memalign(4096, n); }

__attribute__((visibility("default"))) void* pvalloc(size_t n) { return memalign(4096, (n + 4095) & ~static_cast<size_t>(4095)); }

// Bytes live in the C heap now.
__attribute__((visibility("default"))) int64_t varpeak_live() { return live.load(std::memory_order_relaxed); }

// The largest live total since the last reset.
__attribute__((visibility("default"))) int64_t varpeak_peak() { return peak.load(std::memory_order_relaxed); }

// Restarts the peak at the current live total; returns it.
__attribute__((visibility("default"))) int64_t varpeak_reset() {
    int64_t now = live.load(std::memory_order_relaxed);
    peak.store(now, std::memory_order_relaxed);
    return now;
}
}
