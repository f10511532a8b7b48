/// <reference lib="dom" />
// Small DOM helpers for the page. Text only ever goes in through
// textContent, attributes through properties: bus data never becomes markup.

/** The element with `id`; throws when the page lacks it (a build mistake). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new TypeError(`The page has no element #${id}`);
  return found as T;
}

/** A new element with a class and text. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = "",
  text = "",
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

/**
 * A list row: a `div` of class `className`, and `cell(cls)`, which appends a
 * `span` of class `cls` to it and returns the span.
 */
export function rowWithCells(
  className: string,
): { row: HTMLDivElement; cell: (cls: string) => HTMLSpanElement } {
  const row = el("div", className);
  const cell = (cls: string) => {
    const span = el("span", cls);
    row.append(span);
    return span;
  };
  return { row, cell };
}

/** Sets a frame row's class: `base`, plus `k-err` for an error frame or `k-rtr` for a remote one. */
export function setFrameKind(
  row: HTMLElement,
  base: string,
  frame: { readonly isErrorFrame: boolean; readonly isRemoteFrame: boolean },
): void {
  const kind = frame.isErrorFrame ? `${base} k-err` : frame.isRemoteFrame ? `${base} k-rtr` : base;
  if (row.className !== kind) row.className = kind;
}

/** Sets text only when it differs, sparing the browser a layout. */
export function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/** Offers `text` as a file download named `name`. */
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = el("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started by the time the click returns; a delay keeps old browsers happy.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Shows frame flags as chips in `cell`, rebuilding only when they changed. */
export function setFlags(cell: HTMLElement, flags: readonly string[]): void {
  const key = flags.join(" ");
  if (cell.dataset.flags === key) return;
  cell.dataset.flags = key;
  cell.replaceChildren(...flags.map((flag) => el("span", `flag f-${flag.toLowerCase()}`, flag)));
}
