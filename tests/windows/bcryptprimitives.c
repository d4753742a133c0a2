/* A test-only stand-in for Windows' bcryptprimitives.dll, which Wine 8.0 lacks: Rust's standard
 * library (1.78 and later) imports ProcessPrng from it, and raiiaf.exe would not start under
 * Wine without it. Real Windows has the DLL; this is never shipped. */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    return BCryptGenRandom(NULL, data, (ULONG)length, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}
