/**
 * Follows `next_page_token` until the last page, so listing commands show
 * everything, not just the server's first page.
 */
export async function collectPages<T>(
  fetchPage: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
): Promise<T[]> {
  const all: T[] = [];
  let pageToken = "";
  do {
    const page = await fetchPage(pageToken);
    all.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return all;
}
