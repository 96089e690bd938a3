/*
 * bcryptprimitives.dll replacement that lets the Windows build of Deno 2.9.6 start under Debian 12's
 * Wine 8.0. It is test tooling only (scripts/wine_setup.sh builds it with mingw-w64); it never ships.
 *
 * Two things are missing or wrong in Wine 8.0 for deno.exe:
 *   1. bcryptprimitives.dll does not exist, and deno.exe imports ProcessPrng from it (Rust std and
 *      getrandom). We export ProcessPrng and fill the buffer with advapi32's RtlGenRandom
 *      (SystemFunction036), in chunks that fit its ULONG length.
 *   2. kernelbase exports VirtualAlloc2, MapViewOfFile3 and UnmapViewOfFile2 but does not implement
 *      placeholder reservations. V8 uses placeholders only when all three exist, and then aborts with
 *      "SegmentedTable::InitializeTable (subspace allocation)". When this DLL is loaded (before V8 starts)
 *      we rename the UnmapViewOfFile2 entry of kernelbase's export name table in memory, so
 *      GetProcAddress finds nothing and V8 falls back to emulated subspaces. Changing only the last
 *      character ('2' -> '3') keeps the name table sorted, which the loader's binary search relies on.
 *      Set K8S_ATTESTOR_WINE_KEEP_EXPORTS=1 to skip the rename (to see the original failure).
 *
 * Build: x86_64-w64-mingw32-gcc -O2 -s -shared -o bcryptprimitives.dll bcryptprimitives.c \
 *          -ladvapi32 -Wl,--kill-at
 */
#include <windows.h>
#include <string.h>

/* advapi32!SystemFunction036, better known as RtlGenRandom. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

#define PRNG_CHUNK 0x01000000UL /* 16 MiB per RtlGenRandom call */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE out, SIZE_T size)
{
    while (size > 0) {
        ULONG n = size > PRNG_CHUNK ? PRNG_CHUNK : (ULONG)size;
        if (!SystemFunction036(out, n)) {
            return FALSE;
        }
        out += n;
        size -= n;
    }
    return TRUE;
}

/* Returns the export directory of an already loaded module, or NULL. */
static IMAGE_EXPORT_DIRECTORY *export_directory(BYTE *base)
{
    IMAGE_DOS_HEADER *dos = (IMAGE_DOS_HEADER *)base;
    if (dos->e_magic != IMAGE_DOS_SIGNATURE) {
        return NULL;
    }
    IMAGE_NT_HEADERS *nt = (IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
    if (nt->Signature != IMAGE_NT_SIGNATURE) {
        return NULL;
    }
    IMAGE_DATA_DIRECTORY dir = nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT];
    if (dir.VirtualAddress == 0 || dir.Size == 0) {
        return NULL;
    }
    return (IMAGE_EXPORT_DIRECTORY *)(base + dir.VirtualAddress);
}

/* Replaces the last character of export `name` in `module` with `replacement`. */
static void rename_export(const char *module, const char *name, char replacement)
{
    BYTE *base = (BYTE *)GetModuleHandleA(module);
    if (base == NULL) {
        return;
    }
    IMAGE_EXPORT_DIRECTORY *exports = export_directory(base);
    if (exports == NULL) {
        return;
    }
    const DWORD *name_rvas = (const DWORD *)(base + exports->AddressOfNames);
    for (DWORD i = 0; i < exports->NumberOfNames; i++) {
        char *entry = (char *)(base + name_rvas[i]);
        if (strcmp(entry, name) != 0) {
            continue;
        }
        size_t len = strlen(entry);
        DWORD old_protect;
        if (VirtualProtect(entry, len, PAGE_READWRITE, &old_protect)) {
            entry[len - 1] = replacement;
            VirtualProtect(entry, len, old_protect, &old_protect);
        }
        return;
    }
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH && GetEnvironmentVariableA("K8S_ATTESTOR_WINE_KEEP_EXPORTS", NULL, 0) == 0) {
        rename_export("kernelbase.dll", "UnmapViewOfFile2", '3');
    }
    return TRUE;
}
