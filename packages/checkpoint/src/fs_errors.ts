// A checkpoint file that cannot be read for a reason other than absence (a
// symlink loop, a permission problem) must be reported as that, not as
// "missing": the fix is different (repair the link, chmod), and calling it
// missing sends the user looking for a file that is there.

/** What went wrong opening/stat-ing `path`, in words, with the errno code. */
export function describeFsError(e: unknown, path: string): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT':
      return `${path}: file not found`;
    case 'ELOOP':
      return `${path}: symlink loop (ELOOP: too many levels of symbolic links), cannot be read`;
    case 'EACCES':
    case 'EPERM':
      return `${path}: permission denied (${err.code}), cannot be read`;
    case 'EISDIR':
      return `${path}: is a directory, expected a file`;
    case 'ENOTDIR':
      return `${path}: a parent of it is not a directory (ENOTDIR)`;
    default:
      return `${path}: cannot be read (${err.code ?? 'error'}: ${err.message})`;
  }
}

export function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ENOENT';
}
