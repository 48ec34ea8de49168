/**
 * The terms of a text for the built-in lexical provider: NFKC-normalised,
 * lower-cased runs of letters and digits (any script), with a plural `s`
 * removed so "invoices" matches "invoice". Embeddings and BM25 share it, so
 * both see the same words.
 */
export function textTerms(text: string): string[] {
  const words =
    text
      .normalize("NFKC")
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.map(singular);
}

function singular(word: string): string {
  if (word.length > 4 && word.endsWith("ies")) return `${word.slice(0, -3)}y`;
  if (word.length > 3 && word.endsWith("s") && !word.endsWith("ss") && !word.endsWith("us")) {
    return word.slice(0, -1);
  }
  return word;
}
