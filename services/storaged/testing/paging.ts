/** One page of a paginated List answer, reduced to what paging tests compare. */
export interface ListedPage {
  readonly names: string[];
  readonly nextPageToken: string;
}

/**
 * Follows page tokens from the first page to the one whose token is "",
 * giving every page; stops after `maxPages` so a token that never ends fails
 * the test instead of hanging it.
 */
export async function pageThrough(
  listPage: (pageToken: string) => Promise<ListedPage>,
  maxPages = 100,
): Promise<ListedPage[]> {
  const pages: ListedPage[] = [];
  let token = "";
  do {
    const page = await listPage(token);
    pages.push(page);
    token = page.nextPageToken;
  } while (token !== "" && pages.length < maxPages);
  return pages;
}

/**
 * Everything a client can read out of a page token: the token decoded from
 * base64 (either alphabet), and every base64 run inside that text decoded
 * again, so a key wrapped in a token inside a token shows too.
 */
export function tokenText(token: string, depth = 3): string {
  if (token === "" || depth === 0) return "";
  const text = Buffer.from(token, "base64").toString("utf8");
  const nested = (text.match(/[A-Za-z0-9+/_-]{4,}/g) ?? []).map((run) => tokenText(run, depth - 1));
  return [text, ...nested].join("\n");
}
