import { randomInt } from 'node:crypto';

/**
 * bpftrace's text output, block-buffered, framed so that no watched process can forge a line.
 *
 * Text output to a file (`-o`) is written in blocks of 8 KiB (libstdc++'s filebuf): one write()
 * per ~100 lines instead of one per line as JSON output does (every JSON message ends in
 * std::endl). But text output does not escape what `%s` prints: a path holding a newline would
 * split its line, and what follows the newline would read as a line of its own. So every printf
 * of the program ends its line with a terminator drawn at random for each run (never on a command
 * line: the program is handed to bpftrace in a private file): a line that does not end with it
 * is not the end of a printf, whatever it holds.
 *
 * Lines bpftrace writes itself (map prints, "Lost N events", the empty line of the flush probe)
 * carry no terminator and never start with a printf's "tag\t".
 */

/** Letters only: not a printf conversion, nothing bpftrace's string literals escape, never a map value. */
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** 12 letters: about 68 bits, never guessed blind. */
export const TERMINATOR_LENGTH = 12;

/**
 * Letters that may follow a conversion: bpftrace reads `%r` then `h` or `x` as `%rh` or `%rx`
 * (hex output), which would swallow the terminator's first letter after a buffer.
 */
const FIRST = LETTERS.replace(/[hx]/g, '');

export function newTerminator(): string {
  let t = FIRST[randomInt(FIRST.length)]!;
  for (let i = 1; i < TERMINATOR_LENGTH; i++) t += LETTERS[randomInt(LETTERS.length)];
  return t;
}

/**
 * How long a line may wait in bpftrace's output buffer: the flush probe prints an empty line
 * with print(), whose std::endl writes the buffer out. Below the reorder window (100 ms) with
 * room for bpftrace's own scheduling delays.
 */
export const FLUSH_MS = 25;

/** A printf's format literal in program text (bpftrace escapes: \n, \t, \", \\). */
const PRINTF = /\bprintf\("((?:[^"\\\n]|\\.)*)"/g;

/**
 * The program with `terminator` before the newline that ends every printf format, and the flush
 * probe. A format that does not end in a newline would run into the next line: refused.
 */
export function frameProgram(program: string, terminator: string): string {
  if (!/^[A-Za-z]+$/.test(terminator)) throw new Error('a terminator is letters only');
  if (!FIRST.includes(terminator[0]!)) throw new Error('a terminator must not start with h or x (bpftrace reads %rh and %rx)');
  const framed = program.replace(PRINTF, (whole, fmt: string) => {
    if (!fmt.endsWith('\\n') || fmt.endsWith('\\\\n')) throw new Error(`a printf format must end its line: ${whole}`);
    return `printf("${fmt.slice(0, -2)}${terminator}\\n"`;
  });
  return `${framed}\ninterval:ms:${FLUSH_MS} { print(""); }\n`;
}
