/* stance-atomic.c: atomic file replacement (stance-atomic.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "stance-atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Best effort: makes the rename itself durable. Some file systems refuse fsync on a folder; the
 * data is already safely in the file by then, so that is not an error. */
static void
fsync_dir_of(const char *path)
{
  char *dir = strdup(path);
  if (!dir)
    return;
  char *slash = strrchr(dir, '/');
  const char *d = ".";
  if (slash == dir)
    d = "/";
  else if (slash) {
    *slash = '\0';
    d = dir;
  }
  int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  free(dir);
}

int
stance_atomic_open(StanceAtomicFile *f, const char *path, StanceError *err)
{
  memset(f, 0, sizeof *f);
  if (!path || !*path)
    return stance_error_set(err, STANCE_EINVAL, "no file name given");
  const char *slash = strrchr(path, '/');
  size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
  size_t tlen = strlen(path) + 16;
  f->path = strdup(path);
  f->tmp_path = malloc(tlen);
  if (!f->path || !f->tmp_path) {
    stance_atomic_abort(f);
    return stance_error_set(err, STANCE_ENOMEM, "%s: out of memory", path);
  }
  snprintf(f->tmp_path, tlen, "%.*s.%s.XXXXXX", (int)dir_len, path, path + dir_len);
  int fd = mkostemp(f->tmp_path, O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    free(f->tmp_path);
    f->tmp_path = NULL;
    stance_atomic_abort(f);
    return stance_error_set(err, STANCE_EIO,
                            "cannot write '%s': %s (creating a temporary file in the same folder "
                            "failed; expected a writable folder)",
                            path, strerror(e));
  }
  /* mkstemp creates 0600, which suits athletes' health data; a file being replaced keeps its own
   * bits. */
  struct stat st;
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
    (void)fchmod(fd, st.st_mode & 07777);
  f->fp = fdopen(fd, "wb");
  if (!f->fp) {
    int e = errno;
    close(fd);
    stance_atomic_abort(f);
    return stance_error_set(err, STANCE_EIO, "cannot write '%s': %s", path, strerror(e));
  }
  /* Large buffered writes: exports of long recordings are hundreds of MB. */
  setvbuf(f->fp, NULL, _IOFBF, 1 << 16);
  return STANCE_OK;
}

int
stance_atomic_commit(StanceAtomicFile *f, StanceError *err)
{
  if (!f->fp || !f->tmp_path || !f->path) {
    stance_atomic_abort(f);
    return stance_error_set(err, STANCE_EINVAL, "no open file to commit");
  }
  int e = 0;
  const char *step = "writing";
  errno = 0;
  if (fflush(f->fp) != 0 || ferror(f->fp))
    e = errno ? errno : EIO;
  /* EINVAL: the file system cannot sync (a pipe-like target); the data is written anyway. */
  if (!e && fsync(fileno(f->fp)) != 0 && errno != EINVAL) {
    e = errno;
    step = "flushing to disk";
  }
  errno = 0;
  if (fclose(f->fp) != 0 && !e)
    e = errno ? errno : EIO;
  f->fp = NULL;
  if (!e && rename(f->tmp_path, f->path) != 0) {
    e = errno;
    step = "replacing the file";
  }
  if (e) {
    int r = stance_error_set(err, STANCE_EIO,
                             "cannot write '%s': %s (while %s; any existing file was left "
                             "untouched)",
                             f->path, strerror(e), step);
    stance_atomic_abort(f);
    return r;
  }
  fsync_dir_of(f->path);
  free(f->tmp_path);
  free(f->path);
  f->tmp_path = f->path = NULL;
  return STANCE_OK;
}

void
stance_atomic_abort(StanceAtomicFile *f)
{
  if (f->fp)
    fclose(f->fp);
  if (f->tmp_path)
    unlink(f->tmp_path);
  free(f->tmp_path);
  free(f->path);
  f->fp = NULL;
  f->tmp_path = f->path = NULL;
}

int
stance_atomic_write(const char *path, const void *buf, size_t len, StanceError *err)
{
  StanceAtomicFile f;
  int r = stance_atomic_open(&f, path, err);
  if (r < 0)
    return r;
  errno = 0;
  if (len > 0 && fwrite(buf, 1, len, f.fp) != len) {
    int e = errno ? errno : EIO;
    r = stance_error_set(err, STANCE_EIO,
                         "cannot write '%s': %s (while writing; any existing file was left "
                         "untouched)",
                         path, strerror(e));
    stance_atomic_abort(&f);
    return r;
  }
  return stance_atomic_commit(&f, err);
}
