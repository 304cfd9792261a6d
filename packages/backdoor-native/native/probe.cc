/*
 * A backdoor call that can never kill the caller: it runs in a forked child. Outside VMware the
 * `in` faults (SIGSEGV from the #GP; SIGILL for the arm64 trap), and a host that restricts the
 * backdoor faults the same way. The parent only reads the registers back through a pipe.
 *
 * Forking a multi-threaded process is safe here because the child only executes the instruction,
 * write()s and _exit()s: all async-signal-safe. Signal dispositions are reset to the default in the
 * child, since Node/V8 install a SIGSEGV handler (WebAssembly trap handling) that must not run there.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backdoor.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

extern "C" vmw9_probe_result vmw9_probe_lb(vmw9_regs *r, int timeout_ms) {
  vmw9_probe_result res = {0, 0, 0, 0};
  int fds[2];
  if (pipe(fds) != 0) {
    res.error = errno;
    return res;
  }
  pid_t pid = fork();
  if (pid < 0) {
    res.error = errno;
    close(fds[0]);
    close(fds[1]);
    return res;
  }
  if (pid == 0) {
    const int sigs[] = {SIGSEGV, SIGILL, SIGBUS, SIGFPE, SIGTRAP};
    sigset_t set;
    sigemptyset(&set);
    for (int s : sigs) {
      signal(s, SIG_DFL);
      sigaddset(&set, s);
    }
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
    close(fds[0]);
    vmw9_regs copy = *r;
    vmw9_bdoor_lb(&copy);
    ssize_t n = write(fds[1], &copy, sizeof copy);
    _exit(n == (ssize_t)sizeof copy ? 0 : 1);
  }
  close(fds[1]);
  vmw9_regs answer;
  size_t got = 0;
  long deadline = now_ms() + timeout_ms;
  while (got < sizeof answer) {
    long left = deadline - now_ms();
    if (left <= 0) break;
    struct pollfd pfd = {fds[0], POLLIN, 0};
    int pr = poll(&pfd, 1, (int)left);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) break;
    ssize_t n = read(fds[0], (char *)&answer + got, sizeof answer - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; /* EOF: the child died (or exited) before answering */
    got += (size_t)n;
  }
  close(fds[0]);
  if (got < sizeof answer && now_ms() >= deadline) {
    kill(pid, SIGKILL);
    res.timed_out = 1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status) && !res.timed_out) res.signal = WTERMSIG(status);
  if (got == sizeof answer && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    *r = answer;
    res.ok = 1;
  }
  return res;
}

extern "C" int vmw9_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]) {
#if defined(__x86_64__) || defined(__i386__)
  __cpuid_count(leaf, subleaf, out[0], out[1], out[2], out[3]);
  return 1;
#else
  (void)leaf;
  (void)subleaf;
  out[0] = out[1] = out[2] = out[3] = 0;
  return 0;
#endif
}
