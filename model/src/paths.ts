/** Read-as-found content under these prefixes is the system's, not a function's. */
const SYSTEM_PREFIXES = ['/usr/', '/lib/', '/lib64/', '/lib32/', '/bin/', '/sbin/', '/etc/', '/proc/', '/sys/', '/dev/', '/opt/', '/var/lib/'];
const SYSTEM_PARTS = ['/site-packages/', '/dist-packages/', '/node_modules/', '/__pycache__/', '/.tools/'];
/** An interpreter's standard library and shared objects, wherever it is installed (pyenv, nvm, venvs). */
const RUNTIME_PATTERNS = [/\/lib\/python\d[^/]*\//, /\/lib\/node\//, /\.so(\.\d+)*$/];

/** A system or runtime file: under /usr, /lib, /etc…, an interpreter's library, a shared object, or one of the given installation prefixes. */
export function isSystemPath(path: string, runtimes: readonly string[] = []): boolean {
  return SYSTEM_PREFIXES.some((p) => path.startsWith(p)) || SYSTEM_PARTS.some((p) => path.includes(p)) || RUNTIME_PATTERNS.some((r) => r.test(path)) || runtimes.some((r) => path.startsWith(r));
}

/** The installation a process image runs from: PREFIX/ for an exe PREFIX/bin/NAME (an interpreter's own library lives there). */
export function runtimePrefix(exe: string): string | undefined {
  const m = /^(\/.+)\/s?bin\/[^/]+$/.exec(exe);
  return m && m[1] !== '/usr' && m[1] !== '/usr/local' ? `${m[1]}/` : undefined;
}

const CODE = /\.(py|pyc|js|mjs|cjs|ts|rb|php|pl|sh|lua|jar|class|wasm)$|\.so(\.\d+)*$/;
/** A file an interpreter or the loader runs: source, bytecode, a shared object. */
export function isCodePath(path: string): boolean {
  return CODE.test(path);
}
