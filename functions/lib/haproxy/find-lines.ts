// Finding a few servers' lines in a large reply by search: a health poll or a launch's read-back wants one row of a
// 2,000-row backend, and cutting the whole reply into lines (and fields) for it was most of a storm's CPU.

/** Where the line starting at `from` ends (the index of its `\n`, or the text's length). */
export function lineEnd(text: string, from: number): number {
  const end = text.indexOf('\n', from);
  return end < 0 ? text.length : end;
}

/**
 * Every line, after the first `skip` lines, whose field number `field` (0-based, fields separated by `sep`) is one of
 * `names`, in text order (a server listed twice is seen twice). Each line is looked at only up to the end of that
 * field, and a field is cut out only when its length is a wanted name's: for `field` 1 or 3 of a 300-byte line that is
 * a few bytes of it, where splitting the reply cut 2,000 lines into 100 fields each.
 */
export function linesWithField(
  text: string,
  names: ReadonlySet<string>,
  sep: string,
  field: number,
  skip = 1,
): string[] {
  const lengths = new Set([...names].map((n) => n.length));
  const found: string[] = [];
  let start = 0;
  for (let i = 0; i < skip && start < text.length; i++) start = lineEnd(text, start) + 1;
  while (start < text.length) {
    const end = lineEnd(text, start);
    let from = start;
    for (let f = 0; f < field && from <= end; f++) {
      const next = text.indexOf(sep, from);
      from = next < 0 || next > end ? end + 1 : next + 1;
    }
    if (from <= end) {
      const next = text.indexOf(sep, from);
      const to = next < 0 || next > end ? end : next;
      if (lengths.has(to - from) && names.has(text.slice(from, to))) found.push(text.slice(start, end));
    }
    start = end + 1;
  }
  return found;
}
