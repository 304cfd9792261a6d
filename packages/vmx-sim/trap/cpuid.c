/*
 * vmx-trap: what the program sees from CPUID.
 *
 * open-vm-tools refuses to touch the backdoor unless CPUID says "VMwareVMware" (and quits on a KVM
 * or Xen signature), so with --cpuid vmware the program sees CPUID.1:ECX[31]=1, leaf 0x40000000 =
 * {0x40000010, "VMwareVMware"} and leaf 0x40000010 with ECX=0 (never VMCALL/VMMCALL: which of the
 * two a tracer can catch depends on the CPU, the I/O ports always fault). --cpuid none hides the
 * hypervisor. Every other leaf is the real CPUID, executed here in the tracer.
 *
 * CPUID is not a privileged instruction, so catching it takes one of:
 *   fault  CPUID faulting (arch_prctl(ARCH_SET_CPUID, 0)), where the CPU has it (some Intel machines):
 *          CPUID then raises SIGSEGV. The kernel turns it off at every execve, so it is re-armed at
 *          each exec stop by injecting the arch_prctl call into the stopped program.
 *   patch  Otherwise (e.g. AMD): every CPUID instruction in the program's executable file mappings
 *          is overwritten, in the tracee's memory only, with `int3; nop` (CC 90), and the SIGTRAP is
 *          emulated. The sites come from `objdump -d` of each mapped file (real instruction
 *          boundaries), cached in memory and on disk. The executable and ld.so are patched at the
 *          exec stop, before their first instruction; libraries as ld.so maps them (a seccomp
 *          filter reports executable mmap/mprotect calls, see main.c). Writes through
 *          /proc/PID/mem to a private mapping go to a copy-on-write page: the file is untouched.
 * Caveats: leaf 1 EBX and leaf 0xB/0x1F carry the APIC id of the CPU the tracer runs on; code
 * generated at run time (JIT) is not patched, so its CPUID is not intercepted in patch mode.
 */
#include "vmx-trap.h"

#include <asm/prctl.h>
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef ARCH_SET_CPUID
#define ARCH_SET_CPUID 0x1012
#endif

enum intercept icpt = ICPT_OFF;

/* ---- choosing the method ---- */

/* Tries CPUID faulting in a throwaway child: arming it in the launcher would make our own CPUID
 * (used to answer the program's) fault. */
static int fault_works(void) {
  pid_t p = fork();
  if (p == 0) _exit(syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) == 0 ? 0 : 1);
  int status;
  if (p < 0) return 0;
  while (waitpid(p, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

enum intercept cpuid_choose(void) {
  if (opt.cpuid == CPUID_PASS) return ICPT_OFF;
  if (opt.intercept == ICPT_FAULT || opt.intercept == ICPT_PATCH) return opt.intercept;
  return fault_works() ? ICPT_FAULT : ICPT_PATCH;
}

/* ---- the values ---- */

static void cpuid_values(uint32_t leaf, uint32_t sub, uint32_t v[4]) {
  if (leaf >= 0x40000000u && leaf <= 0x4FFFFFFFu) { /* the hypervisor range is all ours */
    memset(v, 0, 16);
    if (opt.cpuid == CPUID_VMWARE && leaf == 0x40000000u) {
      v[0] = 0x40000010u;         /* max leaf: 0x40000010 exists (zero: no timing info, no hypercalls) */
      memcpy(&v[1], "VMwa", 4);   /* ebx */
      memcpy(&v[2], "reVM", 4);   /* ecx */
      memcpy(&v[3], "ware", 4);   /* edx */
    }
    return;
  }
  __cpuid_count(leaf, sub, v[0], v[1], v[2], v[3]);
  if (leaf == 1) {
    if (opt.cpuid == CPUID_VMWARE) v[2] |= 1u << 31;
    else v[2] &= ~(1u << 31);
  }
}

static void emulate(struct tracee *t, struct user_regs_struct *r, uint64_t site, uint64_t next) {
  uint32_t leaf = (uint32_t)r->rax, sub = (uint32_t)r->rcx, v[4];
  cpuid_values(leaf, sub, v);
  r->rax = v[0]; /* CPUID writes 32-bit registers: zero-extended */
  r->rbx = v[1];
  r->rcx = v[2];
  r->rdx = v[3];
  r->rip = next;
  ptrace(PTRACE_SETREGS, t->tid, 0, r);
  st.cpuid++;
  tlog("%d cpuid rip=%#llx leaf=%#x sub=%#x -> eax=%08x ebx=%08x ecx=%08x edx=%08x", t->tid,
       (unsigned long long)site, leaf, sub, v[0], v[1], v[2], v[3]);
}

/* ---- per-address-space record (patch mode) ---- */

struct xmap { /* an executable private file mapping we have patched */
  uint64_t start, end, off, dev, ino;
};
struct mm {
  int refs;
  uint64_t *site; /* patched addresses, sorted */
  size_t nsite, csite;
  struct xmap *map;
  size_t nmap, cmap;
};

struct mm *mm_new(void) {
  struct mm *m = calloc(1, sizeof *m);
  if (!m) abort();
  m->refs = 1;
  return m;
}

struct mm *mm_ref(struct mm *m) {
  m->refs++;
  return m;
}

struct mm *mm_copy(const struct mm *m) {
  struct mm *c = mm_new();
  c->nsite = c->csite = m->nsite;
  c->nmap = c->cmap = m->nmap;
  c->site = malloc((m->nsite + 1) * sizeof *c->site);
  c->map = malloc((m->nmap + 1) * sizeof *c->map);
  if (!c->site || !c->map) abort();
  memcpy(c->site, m->site, m->nsite * sizeof *c->site);
  memcpy(c->map, m->map, m->nmap * sizeof *c->map);
  return c;
}

void mm_put(struct mm *m) {
  if (--m->refs) return;
  free(m->site);
  free(m->map);
  free(m);
}

static size_t site_pos(const struct mm *m, uint64_t a) { /* first index with site >= a */
  size_t lo = 0, hi = m->nsite;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (m->site[mid] < a) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static void site_add(struct mm *m, uint64_t a) {
  size_t i = site_pos(m, a);
  if (i < m->nsite && m->site[i] == a) return;
  if (m->nsite == m->csite) {
    m->csite = m->csite ? 2 * m->csite : 64;
    m->site = realloc(m->site, m->csite * sizeof *m->site);
    if (!m->site) abort();
  }
  memmove(m->site + i + 1, m->site + i, (m->nsite - i) * sizeof *m->site);
  m->site[i] = a;
  m->nsite++;
}

static void sites_drop_range(struct mm *m, uint64_t start, uint64_t end) {
  size_t i = site_pos(m, start), j = site_pos(m, end);
  memmove(m->site + i, m->site + j, (m->nsite - j) * sizeof *m->site);
  m->nsite -= j - i;
}

/* ---- CPUID sites of a file ---- */

struct fsites {
  uint64_t dev, ino;
  int64_t size, mtime_s, mtime_ns;
  uint64_t *off; /* file offsets of CPUID instructions */
  size_t n;
  struct fsites *next;
};
static struct fsites *fcache;

static const char *cache_dir(void) {
  static char dir[PATH_MAX];
  static int done;
  if (done) return dir[0] ? dir : NULL;
  done = 1;
  const char *e = getenv("VMX_TRAP_CACHE"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
  if (e && (!strcmp(e, "off") || !*e)) return NULL;
  if (e) snprintf(dir, sizeof dir, "%s", e);
  else if (x && *x) snprintf(dir, sizeof dir, "%s/vmx-trap", x);
  else if (h && *h) snprintf(dir, sizeof dir, "%s/.cache/vmx-trap", h);
  else return NULL;
  /* mkdir -p */
  for (char *p = dir + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      mkdir(dir, 0755);
      *p = '/';
    }
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) dir[0] = 0;
  return dir[0] ? dir : NULL;
}

static void cache_name(char *buf, size_t n, const struct fsites *f) {
  snprintf(buf, n, "%s/%llx-%llu-%lld-%lld.%09lld.sites", cache_dir(), (unsigned long long)f->dev,
           (unsigned long long)f->ino, (long long)f->size, (long long)f->mtime_s, (long long)f->mtime_ns);
}

static int cache_load(struct fsites *f) {
  char name[PATH_MAX + 100], line[64];
  if (!cache_dir()) return 0;
  cache_name(name, sizeof name, f);
  FILE *in = fopen(name, "re");
  if (!in) return 0;
  int ok = 0;
  size_t cap = 0;
  if (fgets(line, sizeof line, in) && !strcmp(line, "vmx-trap sites 1\n")) {
    while (fgets(line, sizeof line, in)) {
      if (!strcmp(line, "end\n")) {
        ok = 1;
        break;
      }
      if (f->n == cap) {
        cap = cap ? 2 * cap : 64;
        f->off = realloc(f->off, cap * sizeof *f->off);
        if (!f->off) abort();
      }
      f->off[f->n++] = strtoull(line, NULL, 16);
    }
  }
  fclose(in);
  if (!ok) { /* torn or foreign: recompute */
    free(f->off);
    f->off = NULL;
    f->n = 0;
  }
  return ok;
}

static void cache_save(const struct fsites *f, const char *path) {
  char name[PATH_MAX + 100], tmp[PATH_MAX + 120];
  if (!cache_dir()) return;
  cache_name(name, sizeof name, f);
  snprintf(tmp, sizeof tmp, "%s.%d", name, (int)getpid());
  FILE *out = fopen(tmp, "we");
  if (!out) return;
  fprintf(out, "vmx-trap sites 1\n");
  for (size_t i = 0; i < f->n; i++) fprintf(out, "%llx\n", (unsigned long long)f->off[i]);
  fprintf(out, "end\n# %s\n", path);
  if (fclose(out) == 0) rename(tmp, name); /* atomic: concurrent launchers never read half a file */
  else unlink(tmp);
}

/* Runs objdump on the file and turns each `cpuid` address into a file offset through the program
 * headers. Only bytes that really are 0F A2 in the file are kept. */
static void find_sites(struct fsites *f, const char *path, const uint8_t *img, size_t size) {
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
  if (size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_machine != EM_X86_64 || eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > size)
    return; /* not a 64-bit x86 ELF: nothing we can patch */
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + eh->e_phoff);
  /* Cheap first: most libraries contain no 0F A2 byte pair at all in their code. */
  int any = 0;
  for (int i = 0; i < eh->e_phnum && !any; i++)
    if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X) && ph[i].p_offset + ph[i].p_filesz <= size)
      any = memmem(img + ph[i].p_offset, ph[i].p_filesz, "\x0f\xa2", 2) != NULL;
  if (!any) return;

  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) return;
  pid_t p = fork();
  if (p == 0) {
    dup2(pfd[1], 1);
    int nul = open("/dev/null", O_WRONLY);
    if (nul >= 0) dup2(nul, 2);
    execlp("objdump", "objdump", "-d", "--no-show-raw-insn", "-w", path, (char *)NULL);
    _exit(127);
  }
  close(pfd[1]);
  if (p < 0) {
    close(pfd[0]);
    return;
  }
  FILE *in = fdopen(pfd[0], "r");
  char *line = NULL;
  size_t lcap = 0, cap = 0;
  while (in && getline(&line, &lcap, in) > 0) {
    /* "  4a3b2:\tcpuid" */
    char *s = line, *e;
    while (*s == ' ') s++;
    uint64_t vma = strtoull(s, &e, 16);
    if (e == s || *e != ':') continue;
    for (e++; *e == ' ' || *e == '\t'; e++) {
    }
    if (strncmp(e, "cpuid", 5) || (e[5] && e[5] != '\n' && e[5] != ' ' && e[5] != '\t')) continue;
    for (int i = 0; i < eh->e_phnum; i++) {
      if (ph[i].p_type != PT_LOAD || vma < ph[i].p_vaddr || vma + 2 > ph[i].p_vaddr + ph[i].p_filesz) continue;
      uint64_t off = vma - ph[i].p_vaddr + ph[i].p_offset;
      if (off + 2 > size || img[off] != 0x0F || img[off + 1] != 0xA2) break;
      if (f->n == cap) {
        cap = cap ? 2 * cap : 64;
        f->off = realloc(f->off, cap * sizeof *f->off);
        if (!f->off) abort();
      }
      f->off[f->n++] = off;
      break;
    }
  }
  free(line);
  if (in) fclose(in);
  else close(pfd[0]);
  int status;
  while (waitpid(p, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    static int said;
    if (!said++) warnx_("objdump not found (Debian: apt-get install binutils): CPUID is not intercepted");
  }
}

/* The CPUID sites of the file mapped from `path` with this device and inode, as seen by `tid`. */
static struct fsites *file_sites(pid_t tid, const char *path, uint64_t dev, uint64_t ino) {
  for (struct fsites *f = fcache; f; f = f->next)
    if (f->dev == dev && f->ino == ino) return f;
  /* The program may see another root (chroot, mount namespace): try its view second. */
  char alt[PATH_MAX + 64];
  snprintf(alt, sizeof alt, "/proc/%d/root%s", tid, path);
  const char *paths[2] = {path, alt};
  int fd = -1;
  struct stat sb;
  const char *used = NULL;
  for (int i = 0; i < 2 && !used; i++) {
    fd = open(paths[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (fstat(fd, &sb) == 0 && sb.st_dev == dev && sb.st_ino == ino) used = paths[i];
    else close(fd);
  }
  struct fsites *f = calloc(1, sizeof *f);
  if (!f) abort();
  f->dev = dev;
  f->ino = ino;
  f->next = fcache;
  fcache = f;
  if (!used) {
    warnx_("cannot open %s as mapped by %d: its CPUID is not intercepted", path, tid);
    return f;
  }
  f->size = sb.st_size;
  f->mtime_s = sb.st_mtim.tv_sec;
  f->mtime_ns = sb.st_mtim.tv_nsec;
  if (!cache_load(f)) {
    void *img = sb.st_size ? mmap(NULL, sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    if (img != MAP_FAILED) {
      find_sites(f, used, img, sb.st_size);
      munmap(img, sb.st_size);
      cache_save(f, path);
    }
  }
  close(fd);
  tlog("%d file %s: %zu cpuid sites", tid, path, f->n);
  return f;
}

/* ---- patching ---- */

struct cur {
  struct xmap m;
  char path[PATH_MAX];
};

/* Brings the record of `t`'s address space up to date with /proc/TID/maps: forgets mappings that
 * went away, patches the executable private file mappings it has not seen. */
static void scan(struct tracee *t) {
  char name[64];
  snprintf(name, sizeof name, "/proc/%d/maps", t->tid);
  FILE *in = fopen(name, "re");
  if (!in) return;
  struct cur *cur = NULL;
  size_t ncur = 0, ccur = 0;
  char *line = NULL;
  size_t lcap = 0;
  while (getline(&line, &lcap, in) > 0) {
    unsigned long long s, e, off, ino;
    unsigned maj, min;
    char perms[8];
    int pos = 0;
    if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &s, &e, perms, &off, &maj, &min, &ino, &pos) < 7)
      continue;
    char *path = line + pos;
    path[strcspn(path, "\n")] = 0;
    /* Shared mappings would carry the patch into the file itself: never touch them. */
    if (perms[2] != 'x' || perms[3] != 'p' || !ino || path[0] != '/') continue;
    size_t pl = strlen(path);
    if (pl > 10 && !strcmp(path + pl - 10, " (deleted)")) continue;
    if (ncur == ccur) {
      ccur = ccur ? 2 * ccur : 32;
      cur = realloc(cur, ccur * sizeof *cur);
      if (!cur) abort();
    }
    cur[ncur].m = (struct xmap){s, e, off, makedev(maj, min), ino};
    snprintf(cur[ncur].path, sizeof cur[ncur].path, "%s", path);
    ncur++;
  }
  free(line);
  fclose(in);

  struct mm *m = t->mm;
  /* Forget mappings no longer there (and their sites: the addresses may be reused). */
  for (size_t i = 0; i < m->nmap;) {
    int live = 0;
    for (size_t j = 0; j < ncur && !live; j++) live = !memcmp(&cur[j].m, &m->map[i], sizeof(struct xmap));
    if (live) {
      i++;
      continue;
    }
    sites_drop_range(m, m->map[i].start, m->map[i].end);
    m->map[i] = m->map[--m->nmap];
  }
  int memfd = -1;
  for (size_t j = 0; j < ncur; j++) {
    int known = 0;
    for (size_t i = 0; i < m->nmap && !known; i++) known = !memcmp(&cur[j].m, &m->map[i], sizeof(struct xmap));
    if (known) continue;
    struct xmap *x = &cur[j].m;
    struct fsites *f = file_sites(t->tid, cur[j].path, x->dev, x->ino);
    for (size_t k = 0; k < f->n; k++) {
      uint64_t off = f->off[k];
      if (off < x->off || off + 2 > x->off + (x->end - x->start)) continue;
      uint64_t a = x->start + (off - x->off);
      if (memfd < 0) {
        snprintf(name, sizeof name, "/proc/%d/mem", t->tid);
        memfd = open(name, O_RDWR | O_CLOEXEC);
        if (memfd < 0) {
          warnx_("cannot open %s: %s", name, strerror(errno));
          goto out;
        }
      }
      uint8_t b[2];
      if (pread(memfd, b, 2, (off_t)a) != 2) continue;
      if (b[0] == 0x0F && b[1] == 0xA2) {
        /* /proc/PID/mem writes like a debugger (FOLL_FORCE): a private copy of the page. */
        if (pwrite(memfd, "\xCC\x90", 2, (off_t)a) != 2) continue;
        st.sites++;
      } else if (!(b[0] == 0xCC && b[1] == 0x90)) {
        continue; /* not what the file says: leave it */
      } /* CC 90: already patched (a fork's copy, or a split mapping) */
      site_add(m, a);
    }
    if (m->nmap == m->cmap) {
      m->cmap = m->cmap ? 2 * m->cmap : 32;
      m->map = realloc(m->map, m->cmap * sizeof *m->map);
      if (!m->map) abort();
    }
    m->map[m->nmap++] = *x;
  }
out:
  if (memfd >= 0) close(memfd);
  free(cur);
}

void cpuid_on_map(struct tracee *t) {
  if (icpt != ICPT_PATCH || !t->mm) return;
  struct user_regs_struct r;
  /* A failed mmap/mprotect changed nothing. */
  if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) == 0 && (long long)r.rax < 0 && (long long)r.rax > -4096) return;
  scan(t);
}

/* ---- CPUID faulting: injecting arch_prctl(ARCH_SET_CPUID, 0) into a stopped tracee ---- */

struct inject {
  int phase;                    /* see cpuid_inject_stop */
  struct user_regs_struct saved; /* the program's registers, to put back afterwards */
  uint64_t poked_at;            /* where we wrote a `syscall` instruction, or 0 */
  uint8_t orig[2];
};

/* A `syscall` (0F 05) the tracee can execute without us writing one: any 0F 05 byte pair in the
 * vDSO will do, instruction boundary or not, since we jump straight to it. */
static uint64_t vdso_syscall(pid_t tid) {
  char name[64], line[512];
  snprintf(name, sizeof name, "/proc/%d/maps", tid);
  FILE *in = fopen(name, "re");
  if (!in) return 0;
  unsigned long long s = 0, e = 0;
  while (fgets(line, sizeof line, in))
    if (strstr(line, "[vdso]") && sscanf(line, "%llx-%llx", &s, &e) == 2) break;
  fclose(in);
  if (!s || e <= s || e - s > (1 << 20)) return 0;
  size_t n = e - s;
  uint8_t *buf = malloc(n);
  uint64_t at = 0;
  struct iovec l = {buf, n}, r = {(void *)s, n};
  if (buf && process_vm_readv(tid, &l, 1, &r, 1, 0) == (ssize_t)n) {
    uint8_t *p = memmem(buf, n, "\x0f\x05", 2);
    if (p) at = s + (uint64_t)(p - buf);
  }
  free(buf);
  return at;
}

static int mem_rw(pid_t tid, uint64_t a, void *buf, size_t n, int write) {
  char name[64];
  snprintf(name, sizeof name, "/proc/%d/mem", tid);
  int fd = open(name, O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t k = write ? pwrite(fd, buf, n, (off_t)a) : pread(fd, buf, n, (off_t)a);
  close(fd);
  return k == (ssize_t)n ? 0 : -1;
}

/* At the exec stop the tracee is still inside execve, whose return will overwrite rax (and a
 * single step from there only reports that return). So the injection runs on syscall stops:
 *   exec stop  (arm_fault) run to execve's syscall-exit stop
 *   phase 0    execve has returned: save the registers, point rip at a `syscall` with the
 *              arch_prctl arguments, run to its entry stop
 *   phase 1    entry stop of our arch_prctl: run to its exit stop
 *   phase 2    exit stop: rax is the result; put everything back and let the program start. */
static int arm_fault(struct tracee *t) {
  struct inject *j = calloc(1, sizeof *j);
  if (!j) return 0;
  t->inj = j;
  ptrace(PTRACE_SYSCALL, t->tid, 0, 0);
  return 1;
}

static void inject_done(struct tracee *t, long rv) {
  struct inject *j = t->inj;
  if (j->poked_at) mem_rw(t->tid, j->poked_at, j->orig, 2, 1);
  if (j->phase >= 1) ptrace(PTRACE_SETREGS, t->tid, 0, &j->saved);
  t->inj = NULL;
  free(j);
  if (rv != 0) {
    static int said;
    if (!said++)
      warnx_("cannot arm CPUID faulting in %d: %s; its CPUID is not intercepted", t->tid, strerror((int)-rv));
  }
  tlog("%d arch_prctl(ARCH_SET_CPUID, 0) = %ld", t->tid, rv);
  int ps = t->pending_sig;
  t->pending_sig = 0;
  ptrace(PTRACE_CONT, t->tid, 0, (void *)(long)ps);
}

void cpuid_inject_stop(struct tracee *t, int sig) {
  struct inject *j = t->inj;
  siginfo_t si;
  if (sig != (SIGTRAP | 0x80)) {
    /* A signal arrived on the way: keep it for the program, and go on (a group-stop has no
     * siginfo and nothing to keep). */
    if (sig != SIGTRAP && ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) == 0) t->pending_sig = sig;
    ptrace(PTRACE_SYSCALL, t->tid, 0, 0);
    return;
  }
  struct user_regs_struct r;
  if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) < 0) return; /* gone: its exit comes next */
  switch (j->phase++) {
  case 0: { /* execve returned */
    j->saved = r;
    uint64_t at = vdso_syscall(t->tid);
    if (!at) { /* no vDSO: borrow the two bytes at the entry point for a moment */
      at = r.rip;
      if (mem_rw(t->tid, at, j->orig, 2, 0) < 0 || mem_rw(t->tid, at, "\x0f\x05", 2, 1) < 0) {
        inject_done(t, -EFAULT);
        return;
      }
      j->poked_at = at;
    }
    r.rip = at;
    r.rax = SYS_arch_prctl;
    r.rdi = ARCH_SET_CPUID;
    r.rsi = 0;
    r.orig_rax = -1; /* not inside a syscall now: no restart logic on the way out */
    ptrace(PTRACE_SETREGS, t->tid, 0, &r);
    ptrace(PTRACE_SYSCALL, t->tid, 0, 0);
    return;
  }
  case 1: /* entry stop of our arch_prctl */
    if (r.orig_rax != SYS_arch_prctl) {
      inject_done(t, -EINVAL);
      return;
    }
    ptrace(PTRACE_SYSCALL, t->tid, 0, 0);
    return;
  default: /* its exit stop */
    inject_done(t, (long)r.rax);
    return;
  }
}

int cpuid_on_exec(struct tracee *t) {
  if (icpt == ICPT_PATCH) scan(t);
  else if (icpt == ICPT_FAULT) return arm_fault(t);
  return 0;
}

int cpuid_trap(struct tracee *t, int sig, const siginfo_t *si, struct user_regs_struct *r) {
  if (si->si_code != SI_KERNEL) return -1;
  if (icpt == ICPT_PATCH && sig == SIGTRAP && t->mm) {
    uint64_t site = r->rip - 1; /* int3 reports the address after itself */
    size_t i = site_pos(t->mm, site);
    if (i >= t->mm->nsite || t->mm->site[i] != site) return -1; /* someone else's int3 */
    emulate(t, r, site, site + 2);
    return 0;
  }
  if (icpt == ICPT_FAULT && sig == SIGSEGV) {
    uint8_t b[2];
    if (peek_bytes(t->tid, r->rip, b, 2) != 2 || b[0] != 0x0F || b[1] != 0xA2) return -1;
    emulate(t, r, r->rip, r->rip + 2);
    return 0;
  }
  return -1;
}
