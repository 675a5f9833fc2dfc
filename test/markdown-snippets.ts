/** The ```ts blocks of a markdown document, for the tests that run a document's snippets. */

export interface Snippet {
  /** The nearest heading above the block. */
  heading: string;
  /** 1-based line of the block's first code line. */
  line: number;
  code: string;
  /** From a `<!-- expect: REGEX -->` comment right after the block: what the snippet must print. */
  expect?: RegExp;
}

/** Every ```ts block of `markdown` (`file` names it in the error for an unclosed block). */
export function tsSnippets(markdown: string, file: string): Snippet[] {
  const out: Snippet[] = [];
  let heading = "";
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("#")) heading = line.replace(/^#+\s*/, "");
    if (line.trim() !== "```ts") continue;
    let end = i + 1;
    while (end < lines.length && lines[end]!.trim() !== "```") end++;
    if (end >= lines.length) throw new Error(`${file}:${i + 1}: unclosed code block`);
    const code = lines.slice(i + 1, end).join("\n");
    const next = /^<!-- expect: (.*) -->$/.exec(lines[end + 1] ?? "");
    out.push({
      heading,
      line: i + 2,
      code,
      ...(next ? { expect: new RegExp(next[1]!.replaceAll("\\n", "\n")) } : {}),
    });
    i = end;
  }
  return out;
}
