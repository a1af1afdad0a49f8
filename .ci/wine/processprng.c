/*
 * bcryptprimitives.dll for Wine before 8.13, which lacks it.
 *
 * Rust's standard library (since 1.78) takes its random bytes from ProcessPrng in
 * bcryptprimitives.dll; without the DLL every Windows test program exits with status 53
 * under older Wine. This stand-in exports ProcessPrng and fills the buffer from
 * advapi32's RtlGenRandom (SystemFunction036). Built by .ci/windows-tests with mingw.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
