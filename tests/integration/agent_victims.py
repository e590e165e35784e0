"""The victim programs of libleakhunt_agent.so (tests/victims/agent/), described for the agent's
integration tests: how to run each one, the exit status it must keep under the agent, and whether
its stdout must be byte-identical with and without the agent. Data only; the tests live elsewhere.

Each entry of VICTIMS:
  binary            file name in the build's bin/ directory
  args              arguments after the binary
  returncode        subprocess.returncode without the agent: an exit code, or -SIGNAL
  stdout_identical  stdout with the agent == stdout without it (False: varies run to run)
  expected_stdout   stdout as recorded without the agent (None: not deterministic)
  timeout           seconds a run may take (generous; 2 cores, under an agent)
  notes             what the victim exercises and what to look out for

All victims are built -O2 -g -fomit-frame-pointer (DWARF unwinding), every allocation site is an
extern "C" noinline function whose symbol is exactly the name used below.
Exit statuses and outputs recorded on Debian 12 (glibc 2.36, GCC 12).
"""
import os
import signal

import harness

# agent_exact's sites, in the order its JSON lines come. Each line on stdout is
#   {"function": NAME, "inuse_bytes": N, "inuse_objects": M, "alloc_bytes": A, "alloc_objects": B}
# with REQUESTED sizes; realloc = free at the old block's site + allocation at the caller of
# realloc. site_realloc_to_zero stays all zero on glibc (realloc(p, 0) frees p, returns NULL);
# site_malloc_zero has objects but 0 bytes (malloc(0)). Lines with alloc_objects == 0 have no
# sample in a profile.
EXACT_SITES = [
    "site_malloc_small", "site_malloc_medium", "site_malloc_large", "site_malloc_zero",
    "site_calloc", "site_realloc_null", "site_realloc_chain_start", "site_realloc_grow",
    "site_realloc_grow_last", "site_realloc_zero_source", "site_realloc_to_zero",
    "site_reallocarray", "site_reallocarray_resize", "site_posix_memalign", "site_aligned_alloc",
    "site_memalign", "site_valloc", "site_pvalloc", "site_new_object", "site_new_array",
    "site_new_array_cookie", "site_new_aligned", "site_new_aligned_array", "site_new_nothrow",
    "site_new_nothrow_array", "site_new_aligned_nothrow", "site_new_aligned_array_nothrow",
    "site_operator_new_direct",
    "site_operator_new_array_direct", "site_thread_produce",
]

_SIGABRT = -int(signal.SIGABRT)


def _exit_paths(mode, returncode, notes):
    return {
        "binary": "agent_exit_paths",
        "args": ["--mode", mode],
        "returncode": returncode,
        "stdout_identical": True,
        "expected_stdout": f"mode={mode}\n",
        "timeout": 30,
        "notes": notes + " A detached thread is still allocating when the process ends.",
    }


VICTIMS = {
    "exact": {
        "binary": "agent_exact",
        "args": [],
        "returncode": 0,
        "stdout_identical": True,
        "expected_stdout": None,  # 30 JSON lines (EXACT_SITES) then "ready"; parse, don't diff
        "timeout": 60,
        "notes": "Ground truth of every interposed entry point, realloc chains, cross-thread "
                 "frees. Add ['--hold', S] to stay alive S seconds after 'ready' (S < 0: until "
                 "a signal) so a live snapshot can be taken; it never frees the live set. "
                 "stderr notes what realloc(p, 0) did. Not for LD_PRELOAD of jemalloc alone: "
                 "jemalloc exports no pvalloc (nor reallocarray), so glibc's serves them and "
                 "jemalloc's free then crashes on the block (SIGSEGV) - an allocator mismatch "
                 "the agent must avoid when its RTLD_NEXT is jemalloc.",
    },
    "fork": {
        "binary": "agent_fork",
        "args": [],
        "returncode": 0,
        "stdout_identical": True,
        "expected_stdout": (
            "child 0: allocs=1001 frees=1000 checksum=1047752 inherited=51\n"
            "child 1: allocs=1001 frees=1000 checksum=1050752 inherited=51\n"
            "child 2: allocs=1001 frees=1000 checksum=1049752 inherited=51\n"
            "child 3: allocs=1001 frees=1000 checksum=1054752 inherited=51\n"
            "child 4: allocs=1001 frees=1000 checksum=1053752 inherited=51\n"
            "child 5: allocs=1001 frees=1000 checksum=1058752 inherited=51\n"
            "child 6: allocs=1001 frees=1000 checksum=1057752 inherited=51\n"
            "child 7: allocs=1001 frees=1000 checksum=1060752 inherited=51\n"
            "child 8: allocs=1001 frees=1000 checksum=1061752 inherited=51\n"
            "child 9: allocs=1001 frees=1000 checksum=1064752 inherited=51\n"
            "child 10: allocs=1001 frees=1000 checksum=1065752 inherited=51\n"
            "child 11: allocs=1001 frees=1000 checksum=1068752 inherited=51\n"
            "child 12: allocs=1001 frees=1000 checksum=1069752 inherited=51\n"
            "child 13: allocs=1001 frees=1000 checksum=1070752 inherited=51\n"
            "child 14: allocs=1001 frees=1000 checksum=1073752 inherited=51\n"
            "child 15: allocs=1001 frees=1000 checksum=1074752 inherited=51\n"
            "child 16: allocs=1001 frees=1000 checksum=1077752 inherited=51\n"
            "child 17: allocs=1001 frees=1000 checksum=1078752 inherited=51\n"
            "child 18: allocs=1001 frees=1000 checksum=1081752 inherited=51\n"
            "child 19: allocs=1001 frees=1000 checksum=1080752 inherited=51\n"
            "parent: forks=20 children_ok=20 checksum=1102752\n"
        ),
        "timeout": 60,
        "notes": "20 forks without exec while a second thread churns malloc; children allocate, "
                 "print and _exit(0). Exit 1 if a child failed.",
    },
    "fork_exec": {
        "binary": "agent_fork_exec",
        "args": [],
        "returncode": 0,
        "stdout_identical": True,
        "expected_stdout": "".join(f"agent_fork_exec child {i}\n" for i in range(5))
        + "parent: children=5 children_ok=5\n",
        "timeout": 30,
        "notes": "fork + execv /bin/echo (the agent is inherited by echo through LD_PRELOAD).",
    },
    "posix_spawn": {
        "binary": "agent_posix_spawn",
        "args": [],
        "returncode": 0,
        "stdout_identical": True,
        "expected_stdout": "posix_spawn: children=10 children_ok=10\n",
        "timeout": 30,
        "notes": "posix_spawn /bin/true (glibc: clone CLONE_VM|CLONE_VFORK) with another thread "
                 "allocating.",
    },
    "vfork": {
        "binary": "agent_vfork",
        "args": [],
        "returncode": 0,
        "stdout_identical": True,
        "expected_stdout": "vfork: children=10 children_ok=10\n",
        "timeout": 30,
        "notes": "vfork + execv /bin/true; the child only execs or _exits.",
    },
    "dlopen": {
        "binary": "agent_dlopen",
        "args": [],
        "returncode": 0,
        "stdout_identical": True,
        "expected_stdout": "dlopen: cycles=200 kept=10 kept_bytes=3460\n",
        "timeout": 60,
        "notes": "200 dlopen/dlclose cycles of lib/libagent_dlopen_module.so (path compiled in; "
                 "--module PATH overrides). 10 blocks from module_site_allocate outlive the "
                 "module: their stacks point into unmapped code.",
    },
    "deepbind": {
        "binary": "agent_deepbind",
        "args": ["--mode", "deepbind"],
        "returncode": 0,
        "stdout_identical": True,
        "expected_stdout": "deepbind: mode=deepbind freed=1000\n",
        "timeout": 30,
        "notes": "A module opened with RTLD_DEEPBIND frees 1,000 of the program's blocks through "
                 "a lazy PLT slot and a GOT slot; the agent patches both at dlopen.",
    },
    "deepbind_runpath": {
        "binary": "agent_deepbind",
        "args": ["--mode", "runpath"],
        "returncode": 0,
        "stdout_identical": True,
        "expected_stdout": "deepbind: mode=runpath found=2\n",
        "timeout": 30,
        "notes": "dlopen by bare name, plain and RTLD_DEEPBIND, found only through the program's "
                 "DT_RUNPATH: the agent's dlopen must keep the caller's return address.",
    },
    "ctor_dtor": {
        "binary": "agent_ctor_dtor",
        "args": [],
        "returncode": 0,
        "stdout_identical": True,
        "expected_stdout": "ctor_function: churned=7744\n"
                           "static_ctor: text=200 churned=8384\n"
                           "main: churned=9024\n"
                           "thread_local_dtor: churned=10304\n"
                           "atexit: churned=10944\n"
                           "static_dtor: copy=400 churned=9664\n"
                           "dtor_function: churned=11584\n",
        "timeout": 30,
        "notes": "Allocation before main (constructor function, static object) and after it "
                 "(thread_local dtor, atexit, static dtor, destructor function).",
    },
    "exit_return": _exit_paths("return", 5, "Returns 5 from main."),
    "exit_exit": _exit_paths("exit", 3, "exit(3)."),
    "exit__exit": _exit_paths("_exit", 4, "_exit(4): no atexit handlers, no stdio flush."),
    "exit_abort": _exit_paths("abort", _SIGABRT, "abort(): SIGABRT."),
    "exit_segv": _exit_paths("segv", -int(signal.SIGSEGV),
                             "A store through a null pointer: SIGSEGV from the kernel; the "
                             "agent's handler writes the exit snapshot and lets the fault "
                             "recur under the default action."),
    "exit_sigterm": _exit_paths("sigterm", -int(signal.SIGTERM),
                                "kill(getpid(), SIGTERM): the agent writes the exit snapshot and "
                                "raises the signal again under the default action."),
    "exit_own_handler": _exit_paths("own_handler", 7,
                                    "The program's own SIGTERM handler calls _exit(7): the agent "
                                    "installs none of its own for SIGTERM."),
    "exit_throw": _exit_paths("throw", _SIGABRT,
                              "Uncaught std::runtime_error: std::terminate prints to stderr, "
                              "then SIGABRT."),
    "signal_alloc": {
        "binary": "agent_signal_alloc",
        "args": [],
        "returncode": 0,
        "stdout_identical": True,
        "expected_stdout": "sync: signals=1000 handled=1000 handler_allocs=1000 handler_kept=10\n"
                           "async: signals=1000 handled=1000\n",
        "timeout": 60,
        "notes": "SIGUSR1 raised 1000 times between allocations, then SIGALRM sent 1000 times "
                 "from another thread; both handlers malloc/free (10 blocks kept). stderr "
                 "counts the async handler allocations (varies).",
    },
    "fork_in_signal": {
        "binary": "agent_fork_in_signal",
        "args": [],
        "returncode": 0,
        "stdout_identical": True,
        "expected_stdout": "fork_in_signal: signals=300 handled=300 children_ok=300\n",
        "timeout": 60,
        "notes": "A worker thread mallocs/frees without pause; SIGUSR1 sent to it 300 times, its "
                 "handler forks and reaps a child that _exits 7. The handler often interrupts the "
                 "agent while it holds its locks: the fork must not deadlock.",
    },
    "threads_churn": {
        "binary": "agent_threads_churn",
        "args": ["--seconds", "3"],
        "returncode": 0,
        "stdout_identical": False,  # "threads=8 ops=N": N depends on speed
        "expected_stdout": None,
        "timeout": 60,
        "notes": "8 threads, all allocation kinds, full speed; prints 'ready' when running (for "
                 "snapshots under stress) and the total ops at the end.",
    },
    "threads_churn_ops": {
        "binary": "agent_threads_churn",
        "args": ["--ops", "20000"],
        "returncode": 0,
        "stdout_identical": True,
        "expected_stdout": "ready\nthreads=8 ops=160000\n",
        "timeout": 60,
        "notes": "The same churn for a fixed 20000 operations per thread.",
    },
    "jemalloc": {
        "binary": "agent_jemalloc",
        "args": [],
        "returncode": 0,
        "stdout_identical": True,
        "expected_stdout": "allocator=jemalloc in_use=yes\n"
                           "workload: threads=4 allocs_per_thread=2000 live_blocks=400 "
                           "live_bytes=798740\n",
        "timeout": 30,
        "optional": True,  # not built when libjemalloc is absent
        "notes": "Linked against libjemalloc: the agent's originals must be jemalloc's "
                 "(in_use=yes asks jemalloc's mallctl).",
    },
    "tcmalloc": {
        "binary": "agent_tcmalloc",
        "args": [],
        "returncode": 0,
        "stdout_identical": True,
        "expected_stdout": "allocator=tcmalloc in_use=yes\n"
                           "workload: threads=4 allocs_per_thread=2000 live_blocks=400 "
                           "live_bytes=798740\n",
        "timeout": 30,
        "optional": True,  # not built when libtcmalloc is absent
        "notes": "Linked against libtcmalloc (gperftools): malloc and operator new come from "
                 "tcmalloc (in_use=yes asks MallocExtension).",
    },
}


def argv(name, bin_dir=None):
    """The full command line of VICTIMS[name]."""
    victim = VICTIMS[name]
    return [os.path.join(bin_dir or harness.BIN, victim["binary"])] + list(victim["args"])


def available(name, bin_dir=None):
    """False when the victim was not built (the optional allocator victims)."""
    return os.access(argv(name, bin_dir)[0], os.X_OK)
