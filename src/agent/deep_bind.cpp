// Patching the GOT of an object loaded with RTLD_DEEPBIND: read its dynamic section (the
// loader has already relocated the pointers in it, except on objects whose dynamic section is
// read-only, where they are still offsets from the load address), walk its RELA and JMPREL
// relocations, and rewrite the slots of R_X86_64_GLOB_DAT and R_X86_64_JUMP_SLOT relocations
// that name an allocation function. A slot inside PT_GNU_RELRO (read-only once relocated) is made
// writable for the one store and read-only again. Stores are single aligned 8-byte writes, so a
// thread calling through the slot meanwhile gets the old or the new target, both valid.
#include "agent/deep_bind.hpp"

#include "agent/memory.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace leakhunt::agent {
namespace {

#if defined(__x86_64__)

struct Object {
    ElfW(Addr) base = 0;
    const char* name = nullptr;
    ElfW(Addr) lo = ~ElfW(Addr){0};  // the extent of its PT_LOAD segments
    ElfW(Addr) hi = 0;
    ElfW(Addr) relro_lo = 0;  // the pages the loader made read-only after relocation
    ElfW(Addr) relro_hi = 0;
    bool found = false;
};

int find_object(dl_phdr_info* info, size_t, void* data) {
    auto* o = static_cast<Object*>(data);
    const char* name = info->dlpi_name != nullptr ? info->dlpi_name : "";
    if (info->dlpi_addr != o->base || std::strcmp(name, o->name) != 0) return 0;
    const auto page = static_cast<ElfW(Addr)>(::sysconf(_SC_PAGESIZE));
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        const ElfW(Addr) start = info->dlpi_addr + ph.p_vaddr;
        if (ph.p_type == PT_LOAD) {
            if (start < o->lo) o->lo = start;
            if (start + ph.p_memsz > o->hi) o->hi = start + ph.p_memsz;
        } else if (ph.p_type == PT_GNU_RELRO) {
            // As the loader rounds it (_dl_protect_relro): start and end down to a page.
            o->relro_lo = start & ~(page - 1);
            o->relro_hi = (start + ph.p_memsz) & ~(page - 1);
        }
    }
    o->found = true;
    return 1;
}

bool store_slot_at(void** slot, void* value, bool read_only) {
    const auto at = reinterpret_cast<ElfW(Addr)>(slot);
    const auto page = static_cast<ElfW(Addr)>(::sysconf(_SC_PAGESIZE));
    void* first = reinterpret_cast<void*>(at & ~(page - 1));
    if (read_only && ::mprotect(first, page, PROT_READ | PROT_WRITE) != 0) return false;
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    if (read_only) ::mprotect(first, page, PROT_READ);
    return true;
}

bool in_relro(void** slot, const Object& o) {
    const auto at = reinterpret_cast<ElfW(Addr)>(slot);
    return at >= o.relro_lo && at < o.relro_hi;
}

bool log_patch(PatchLog& log, const PatchLog::Entry& e) {
    if (log.count == log.capacity) {
        const std::size_t cap = log.capacity == 0 ? 256 : log.capacity * 2;
        auto* grown = static_cast<PatchLog::Entry*>(map_memory(cap * sizeof(PatchLog::Entry)));
        if (grown == nullptr) return false;
        if (log.count > 0) std::memcpy(grown, log.entries, log.count * sizeof(PatchLog::Entry));
        unmap_memory(log.entries, log.capacity * sizeof(PatchLog::Entry));
        log.entries = grown;
        log.capacity = cap;
    }
    log.entries[log.count++] = e;
    return true;
}

struct Tables {
    const ElfW(Sym) * symtab = nullptr;
    const char* strtab = nullptr;
    const ElfW(Rela) * rela = nullptr;
    std::size_t rela_bytes = 0;
    const ElfW(Rela) * jmprel = nullptr;
    std::size_t jmprel_bytes = 0;
};

Tables read_dynamic(const link_map* lm) {
    Tables t;
    // The loader relocates these pointers in place where the dynamic section is writable.
    auto address = [lm](ElfW(Addr) a) { return a < lm->l_addr ? a + lm->l_addr : a; };
    bool plt_is_rela = false;
    for (const ElfW(Dyn)* d = lm->l_ld; d != nullptr && d->d_tag != DT_NULL; ++d) {
        switch (d->d_tag) {
            case DT_SYMTAB:
                t.symtab = reinterpret_cast<const ElfW(Sym)*>(address(d->d_un.d_ptr));
                break;
            case DT_STRTAB:
                t.strtab = reinterpret_cast<const char*>(address(d->d_un.d_ptr));
                break;
            case DT_RELA:
                t.rela = reinterpret_cast<const ElfW(Rela)*>(address(d->d_un.d_ptr));
                break;
            case DT_RELASZ:
                t.rela_bytes = d->d_un.d_val;
                break;
            case DT_JMPREL:
                t.jmprel = reinterpret_cast<const ElfW(Rela)*>(address(d->d_un.d_ptr));
                break;
            case DT_PLTRELSZ:
                t.jmprel_bytes = d->d_un.d_val;
                break;
            case DT_PLTREL:
                plt_is_rela = d->d_un.d_val == DT_RELA;
                break;
            default:
                break;
        }
    }
    if (!plt_is_rela) t.jmprel = nullptr;
    return t;
}

// `bound[i]`: what the opened object binds targets[i].name to (dlsym on its handle).
std::size_t patch_object(const link_map* lm, bool is_opened, const HookTarget* targets,
                         std::size_t count, void* const* bound, PatchLog* log = nullptr) {
    Object o;
    o.base = lm->l_addr;
    o.name = lm->l_name != nullptr ? lm->l_name : "";
    dl_iterate_phdr(find_object, &o);
    if (!o.found) return 0;
    const Tables t = read_dynamic(lm);
    if (t.symtab == nullptr || t.strtab == nullptr) return 0;
    std::size_t patched = 0;
    const struct {
        const ElfW(Rela) * first;
        std::size_t bytes;
    } lists[] = {{t.rela, t.rela_bytes}, {t.jmprel, t.jmprel_bytes}};
    for (const auto& list : lists) {
        if (list.first == nullptr) continue;
        const std::size_t n = list.bytes / sizeof(ElfW(Rela));
        for (std::size_t k = 0; k < n; ++k) {
            const ElfW(Rela)& r = list.first[k];
            const auto type = ELF64_R_TYPE(r.r_info);
            if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
            const char* name = t.strtab + t.symtab[ELF64_R_SYM(r.r_info)].st_name;
            for (std::size_t i = 0; i < count; ++i) {
                if (std::strcmp(name, targets[i].name) != 0) continue;
                auto** slot = reinterpret_cast<void**>(lm->l_addr + r.r_offset);
                const auto current = reinterpret_cast<ElfW(Addr)>(*slot);
                // Bound to the allocator we wrap, or (the opened object only) not yet bound: a
                // lazy PLT slot points back into the object, and will bind as dlsym says.
                const bool to_next = *slot == targets[i].next;
                const bool lazy =
                    is_opened && current >= o.lo && current < o.hi && bound[i] == targets[i].next;
                if (!to_next && !lazy) break;
                const bool read_only = in_relro(slot, o);
                // A slot that cannot be put back at detach is left alone.
                if (log != nullptr && !log_patch(*log, {slot, *slot, targets[i].ours, read_only})) {
                    break;
                }
                if (store_slot_at(slot, targets[i].ours, read_only))
                    ++patched;
                else if (log != nullptr)
                    --log->count;
                break;
            }
        }
    }
    return patched;
}

struct LoadedScan {
    const HookTarget* targets;
    std::size_t count;
    void* const* bound;
    std::uintptr_t skip_base;
    PatchLog* log;
    std::size_t patched;
};

int patch_loaded(dl_phdr_info* info, size_t, void* data) {
    auto* scan = static_cast<LoadedScan*>(data);
    if (scan->skip_base != 0 && info->dlpi_addr == scan->skip_base) return 0;
    link_map lm{};
    lm.l_addr = info->dlpi_addr;
    lm.l_name = const_cast<char*>(info->dlpi_name != nullptr ? info->dlpi_name : "");
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) {
            lm.l_ld = reinterpret_cast<ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
        }
    }
    if (lm.l_ld == nullptr) return 0;  // nothing bound here to patch
    scan->patched += patch_object(&lm, true, scan->targets, scan->count, scan->bound, scan->log);
    return 0;
}

#endif

}  // namespace

std::size_t redirect_deep_bound(void* handle, const HookTarget* targets, std::size_t count) {
#if defined(__x86_64__)
    constexpr std::size_t k_max_targets = 16;
    if (count > k_max_targets) return 0;
    link_map* lm = nullptr;
    if (::dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == nullptr) return 0;
    void* bound[k_max_targets];
    for (std::size_t i = 0; i < count; ++i) bound[i] = ::dlsym(handle, targets[i].name);
    static_assert(k_max_targets >= 16);
    std::size_t patched = 0;
    for (const link_map* m = lm; m != nullptr; m = m->l_next) {
        patched += patch_object(m, m == lm, targets, count, bound);
    }
    return patched;
#else
    (void)handle;
    (void)targets;
    (void)count;
    return 0;
#endif
}

std::size_t redirect_loaded(const HookTarget* targets, std::size_t count, std::uintptr_t skip_base,
                            PatchLog& log) {
#if defined(__x86_64__)
    constexpr std::size_t k_max_targets = 64;
    if (count > k_max_targets) return 0;
    void* bound[k_max_targets];
    for (std::size_t i = 0; i < count; ++i) bound[i] = ::dlsym(RTLD_DEFAULT, targets[i].name);
    LoadedScan scan{targets, count, bound, skip_base, &log, 0};
    // Under the loader's lock (dl_iterate_phdr's, recursive), so no object comes or goes meanwhile.
    dl_iterate_phdr(patch_loaded, &scan);
    const std::size_t patched = scan.patched;
    return patched;
#else
    (void)targets;
    (void)count;
    (void)skip_base;
    (void)log;
    return 0;
#endif
}

std::size_t restore_patches(const PatchLog& log) {
    std::size_t restored = 0;
    for (std::size_t i = log.count; i-- > 0;) {
        const PatchLog::Entry& e = log.entries[i];
        if (__atomic_load_n(e.slot, __ATOMIC_ACQUIRE) != e.new_value) continue;
        if (store_slot_at(e.slot, e.old_value, e.read_only)) ++restored;
    }
    return restored;
}

}  // namespace leakhunt::agent
