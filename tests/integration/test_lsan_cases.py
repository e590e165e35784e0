"""LeakSanitizer's own test scenarios (compiler-rt/test/lsan/TestCases in llvm-project), each
rewritten as a small program of ours in tests/lsan_cases/, run plainly under
`leakhunt record --all --leak-check` and compared with the expectation the upstream test states
for LeakSanitizer's default options: the direct and indirect leaks in bytes and objects (summed
over every process the case runs), or no leak, and the exit status that follows (3 for a leak
when the program exited 0). Where the -fsanitize=leak build of the same case exists, it runs too
and must report the same manifest, so the expectation does not rest on our reading alone.

CASES is the manifest; LEFT_OUT names every upstream case not mirrored and why; EXPECTED_FAILURES
names the cases that do not agree yet and why (empty: unittest reports an unexpected success if a
listed case starts to agree)."""
import os
import re
import subprocess
import sys
import unittest

from harness import BIN, Case, binary, run

NO_LEAK = {"direct": (0, 0), "indirect": (0, 0)}


def direct(nbytes, objects):
    return {"direct": (nbytes, objects), "indirect": (0, 0)}


# name: (upstream case, arguments, expectation under default options, notes on the oracle)
# Arguments "{bin}" are replaced by the build's bin directory.
CASES = {
    "globals_initialized": ("use_globals_initialized.cpp", [], NO_LEAK),
    "globals_uninitialized": ("use_globals_uninitialized.cpp", [], NO_LEAK),
    "tls_static": ("Linux/use_tls_static.cpp", [], NO_LEAK),
    "tls_dynamic": ("Linux/use_tls_dynamic.cpp", ["{bin}/liblsan_case_tls_dynamic_module.so"],
                    NO_LEAK),
    "tls_pthread_specific_static": ("Linux/use_tls_pthread_specific_static.cpp", [], NO_LEAK),
    "tls_pthread_specific_dynamic": ("Linux/use_tls_pthread_specific_dynamic.cpp", [], NO_LEAK),
    "stacks_main": ("use_stacks.cpp", [], NO_LEAK),
    "stacks_threaded": ("use_stacks_threaded.cpp", [], NO_LEAK),
    "registers": ("use_registers.cpp", [], NO_LEAK),
    "registers_vector": ("use_registers_extra.cpp", [], NO_LEAK),
    "unaligned": ("use_unaligned.cpp", [], direct(1337, 1)),
    "pointer_to_self": ("pointer_to_self.cpp", [], direct(1337, 1)),
    "large_allocation": ("large_allocation_leak.cpp", [], direct(33554432, 1)),
    # LeakSanitizer serves malloc(0) as a 1-byte block and reports 1 byte; leakhunt reports the
    # size the program asked for. The object count is the expectation both must meet.
    "malloc_zero": ("malloc_zero.c", [], direct(0, 1)),
    "realloc_zero": ("realloc_zero.c", [], NO_LEAK),
    "stale_stack": ("stale_stack_leak.cpp", [], direct(1337, 1)),
    "exit_stale_frame": ("Linux/exit_atexit_stale_stack.cpp", [], direct(100, 1)),
    "exit_stale_frame_explicit": ("Linux/exit_atexit_stale_stack.cpp (EXPLICIT_EXIT)", [],
                                  direct(100, 1)),
    "thread_arg_retval_arg": ("create_thread_leak.cpp (leak_arg)", ["arg"], direct(12300, 100)),
    "thread_arg_retval_retval": ("create_thread_leak.cpp (leak_retval)", ["retval"],
                                 direct(23400, 100)),
    "thread_arg_retval_detach": ("create_thread_leak.cpp (detach)", ["detach"],
                                 direct(23400, 100)),
    "thread_arg_retval_none": ("create_thread_leak.cpp (no leak)", ["none"], NO_LEAK),
    "fork_and_leak": ("Linux/fork_and_leak.cpp", [], direct(13370, 10)),
    "fork_exit_from_thread": ("Linux/fork_threaded.cpp", [], NO_LEAK),
    "many_tls_keys": ("many_tls_keys_pthread.cpp", [], NO_LEAK),
    "allocator_contention": ("high_allocator_contention.cpp", [], NO_LEAK),
    "coroutine_stack": ("swapcontext.cpp (stack-allocated)", [], direct(2664, 1)),
}

# The binary of a case when it is not lsan_case_<name>.
BINARY = {
    "thread_arg_retval_arg": "thread_arg_retval",
    "thread_arg_retval_retval": "thread_arg_retval",
    "thread_arg_retval_detach": "thread_arg_retval",
    "thread_arg_retval_none": "thread_arg_retval",
}

# What the -fsanitize=leak build reports where it differs from the manifest, and why (None: it
# is no oracle for the case, which is skipped).
_NO_EXIT_BOUNDARY = ("LeakSanitizer before the exit-entry stack boundary (clang 14 here) scans "
                     "the dead frames above its own stack pointer, so whether it sees the slot "
                     "depends on what exit() overwrote; the upstream test states the later, "
                     "correct expectation")
LSAN_DIFFERS = {
    "malloc_zero": (direct(1, 1), "LeakSanitizer's allocator counts malloc(0) as 1 byte"),
    "exit_stale_frame": (None, _NO_EXIT_BOUNDARY),
    "exit_stale_frame_explicit": (None, _NO_EXIT_BOUNDARY),
}

# Cases that do not agree yet, and why (none: every mirrored case agrees).
EXPECTED_FAILURES = {}

# Upstream cases not mirrored, and why.
LEFT_OUT = {
    "Darwin/dispatch_continuations.mm": "macOS (libdispatch) only",
    "Darwin/trampoline.mm": "macOS only",
    "Linux/cleanup_in_tsd_destructor.c": "calls __lsan_do_leak_check from a TSD destructor",
    "Linux/disabler_in_tsd_destructor.c": "uses __lsan_disable/__lsan_enable",
    "Linux/detached_thread_dlsym.c": "about LeakSanitizer's own dlsym interception while a "
                                     "thread starts; nothing to check without its runtime",
    "Linux/double_free_fork.cpp": "a double-free report (allocator error), not a leak check",
    "Linux/guard-page.c": "LeakSanitizer's handling of a stack guard page it scans; needs "
                          "use_stacks internals (a crash test of its scanner)",
    "Linux/leak_check_segv.cpp": "calls __lsan_do_leak_check on unreadable memory (its "
                                 "scanner's fault handling)",
    "Linux/libdl_deadlock.cpp": "LeakSanitizer's internal lock order with dlopen",
    "Linux/log-path_test.cpp": "the log_path option",
    "Linux/realloc_failure_keeps_original.cpp": "needs allocator_may_return_null=1, "
                                                "detect_leaks=0 and the malloc-hook API",
    "Linux/signal_during_stop_the_world.cpp": "LeakSanitizer's stop-the-world internals",
    "default_options.cpp": "__lsan_default_options",
    "disabler.c": "__lsan_disable/__lsan_enable",
    "disabler.cpp": "__lsan::ScopedDisabler",
    "do_leak_check_override.cpp": "__lsan_do_leak_check with leak_check_at_exit",
    "double_free.cpp": "allocator error report, not a leak check",
    "double_free_eviction.cpp": "allocator error report, not a leak check",
    "double_free_hooks.cpp": "allocator error report and malloc hooks",
    "double_free_large.cpp": "allocator error report, not a leak check",
    "double_free_max_entries.cpp": "allocator error report, not a leak check",
    "double_free_realloc.cpp": "allocator error report, not a leak check",
    "double_free_sized.cpp": "allocator error report, not a leak check",
    "double_free_threaded.cpp": "allocator error report, not a leak check",
    "flag_retries.c": "the tries/retry_delay_ms options",
    "flag_tries.c": "the tries option",
    "ignore_object.c": "__lsan_ignore_object",
    "invalid_free.cpp": "allocator error report, not a leak check",
    "leak_check_at_exit.cpp": "__lsan_do_leak_check and leak_check_at_exit=0",
    "leak_check_before_thread_started.cpp": "a race in LeakSanitizer's thread registry "
                                            "(needs its runtime's periodic checks)",
    "link_turned_off.cpp": "__lsan_is_turned_off",
    "lsan_annotations.cpp": "__lsan_ignore_object/__lsan_disable annotations",
    "lsan_crash.cpp": "a crash test of LeakSanitizer's own allocator",
    "many_tls_keys_thread.cpp": "covered by many_tls_keys (thread_local destructors of the "
                                "same keys); checks LeakSanitizer's thread teardown",
    "print_threads.c": "the report_objects/verbosity output of its thread registry",
    "recoverable_leak_check.cpp": "__lsan_do_recoverable_leak_check",
    "register_root_region.cpp": "__lsan_register_root_region",
    "suppressions_default.cpp": "__lsan_default_suppressions",
    "suppressions_file.cpp": "LSAN_OPTIONS=suppressions",
    "swapcontext.cpp (heap-allocated)": "LeakSanitizer deliberately stays silent about a block "
                                        "allocated on a coroutine stack in heap memory (it "
                                        "cannot unwind there); that silence is its runtime's "
                                        "choice, not a leak expectation",
    "thread_context_crash.cpp": "LeakSanitizer's thread registry teardown",
    "use_after_return.cpp": "AddressSanitizer's fake stack (detect_stack_use_after_return)",
}

REPORT = re.compile(r"^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\)", re.M)


def leak_totals(text):
    """{'direct': (bytes, objects), 'indirect': (bytes, objects)} summed over every report in
    text (LeakSanitizer's format, which `record --leak-check` prints too)."""
    totals = {"direct": [0, 0], "indirect": [0, 0]}
    for kind, nbytes, objects in REPORT.findall(text):
        t = totals[kind.lower()]
        t[0] += int(nbytes)
        t[1] += int(objects)
    return {k: tuple(v) for k, v in totals.items()}


def case_binary(name, suffix=""):
    return binary("lsan_case_" + BINARY.get(name, name) + suffix)


def case_args(name):
    return [a.replace("{bin}", BIN) for a in CASES[name][1]]


RESULTS = {}


class LsanCases(Case):
    @classmethod
    def tearDownClass(cls):
        width = max(len(n) for n in CASES)
        lines = ["", "LeakSanitizer cases (upstream case: result)"]
        for name, (upstream, _, _) in CASES.items():
            lines.append(f"  {name:<{width}}  {RESULTS.get(name, 'not run'):<10} {upstream}")
            if name in EXPECTED_FAILURES:
                lines.append(f"  {'':<{width}}    why: {EXPECTED_FAILURES[name]}")
        for upstream, why in LEFT_OUT.items():
            lines.append(f"  {'-':<{width}}  left out   {upstream}: {why}")
        print("\n".join(lines), file=sys.stderr)

    def check_case(self, name):
        exe = case_binary(name)
        if not os.path.exists(exe):
            self.skipTest(f"{exe} not built")
        expected = CASES[name][2]
        out = self.path("rec")
        r = run(["record", "--all", "--leak-check", "-o", out, "--", exe, *case_args(name)],
                timeout=120)
        ours = leak_totals(r.stderr)
        leaked = ours != NO_LEAK
        agree = ours == expected and r.returncode == (3 if expected != NO_LEAK else 0)
        RESULTS[name] = "agree" if agree else "disagree"
        if not agree and name in EXPECTED_FAILURES:
            RESULTS[name] = "disagree (expected on this branch)"
        self.assertEqual(ours, expected, r.stderr[-3000:])
        self.assertEqual(r.returncode, 3 if expected != NO_LEAK else 0, r.stderr[-3000:])
        if leaked:
            self.assertRegex(r.stderr, r"SUMMARY: leakhunt: \d+ byte\(s\) leaked")

    def check_oracle(self, name):
        exe = case_binary(name, "_lsan")
        if not os.path.exists(exe):
            self.skipTest(f"{exe} not built (needs clang and libclang-rt-14-dev)")
        env = dict(os.environ)
        env["LSAN_OPTIONS"] = "exitcode=23"
        r = subprocess.run([exe, *case_args(name)], capture_output=True, text=True, timeout=120,
                           env=env, stdin=subprocess.DEVNULL)
        if "LeakSanitizer does not work under ptrace" in r.stderr or (
                r.returncode not in (0, 23) and "LeakSanitizer has encountered a fatal error"
                in r.stderr):
            self.skipTest("LeakSanitizer cannot run here: " + r.stderr.strip()[:200])
        expected, why = LSAN_DIFFERS.get(name, (CASES[name][2], ""))
        if expected is None:
            self.skipTest(why)
        self.assertEqual(leak_totals(r.stderr), expected, r.stderr[-3000:])
        self.assertEqual(r.returncode, 23 if expected != NO_LEAK else 0, r.stderr[-3000:])


def add_tests():
    for name in CASES:
        def test(self, name=name):
            self.check_case(name)

        def oracle(self, name=name):
            self.check_oracle(name)

        if name in EXPECTED_FAILURES:
            test = unittest.expectedFailure(test)
        test.__doc__ = f"{name} (upstream {CASES[name][0]}) under record --all --leak-check"
        oracle.__doc__ = f"{name}: the -fsanitize=leak build reports the manifest"
        setattr(LsanCases, f"test_{name}", test)
        setattr(LsanCases, f"test_{name}_lsan_oracle", oracle)


add_tests()


class Manifest(unittest.TestCase):
    def test_every_case_has_a_source_and_no_case_is_both_run_and_left_out(self):
        here = os.path.join(os.path.dirname(__file__), "..", "lsan_cases")
        for name in CASES:
            base = BINARY.get(name, name).replace("_explicit", "")
            self.assertTrue(os.path.exists(os.path.join(here, base + ".c")) or
                            os.path.exists(os.path.join(here, base + ".cpp")), name)
        run_upstream = {u.split(" ")[0] for u, _, _ in CASES.values()}
        for upstream in LEFT_OUT:
            if "(" not in upstream:
                self.assertNotIn(upstream, run_upstream)
        self.assertTrue(set(EXPECTED_FAILURES) <= set(CASES))


if __name__ == "__main__":
    unittest.main()
