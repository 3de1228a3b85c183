export class ParseError extends Error {
  constructor(readonly line: string, why: string) {
    super(`cannot parse bpftrace line (${why}): ${line.slice(0, 200)}`);
  }
}
