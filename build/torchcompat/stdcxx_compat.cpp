// One-function shim for libLibTorchSharp.so built with GCC 13, which references
// std::ios_base_library_init() (GLIBCXX_3.4.32). Debian 12's libstdc++ (GCC 12) lacks it.
// See ../shared/reference/toolchain.md §1.1. Loaded RTLD_GLOBAL before TorchSharp by TorchCompat.cs.
#include <ios>
namespace std {
void ios_base_library_init() { static ios_base::Init init; }
}
