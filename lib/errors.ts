/**
 * Errors: what the library's errors are made of, beyond a message that starts with the module's word.
 *
 * - {@link OptionError} marks the caller's mistake (a bad option, source or output path), found
 *   before any work: the command line turns it into exit code 2, every other error into 1.
 * - {@link redactUrl} and {@link redactUrls} keep secrets out of messages and saved files: source
 *   URLs may carry credentials (`https://user:token@host/…`) or be signed (`?X-Amz-Signature=…`).
 */

/**
 * A bad option, source or output path, found before any work was done (exit code 2 on the command line).
 *
 * @example
 * throw new OptionError('pipeline: minDuration (60) must be below maxDuration (1)');
 */
export class OptionError extends Error {
  override name = 'OptionError';
}

/**
 * A URL without what must not be shown or saved: `user:password@` and the query and fragment
 * (a signed URL's signature lives in its query). A removed query shows as `?…` so the reader
 * knows there was one. Text that is not a URL comes back unchanged.
 *
 * @example
 * redactUrl('https://me:secret@example.org/x.parquet?X-Amz-Signature=abc'); // 'https://example.org/x.parquet?…'
 * redactUrl('2024-01'); // '2024-01'
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not a URL, or not one the WHATWG parser takes: still strip anything that looks like credentials.
    return redactUrls(text);
  }
  if (!/^[a-z][a-z\d+.-]*:\/\//i.test(text)) return text; // 'c:/x', 'mailto:…': no authority, nothing to hide
  const hadQuery = url.search !== '' || url.hash !== '';
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  return `${url.toString()}${hadQuery ? '?…' : ''}`;
}

/**
 * Every URL inside a text redacted as {@link redactUrl} does: for messages that quote URLs
 * among other words (an error's message, a wrapped error's cause).
 *
 * @example
 * redactUrls('source: HTTP 403 for https://a:b@h/x.parquet?sig=1; check the URL');
 * // 'source: HTTP 403 for https://h/x.parquet?…; check the URL'
 */
export function redactUrls(text: string): string {
  // scheme://[userinfo@]rest-of-URL, up to whitespace or a quote/bracket that ends it in prose.
  return text.replace(/\b([a-z][a-z\d+.-]*:\/\/)([^\s/?#@'"<>()[\]]*@)?([^\s?#'"<>()[\]]*)([?#][^\s'"<>()[\]]*)?/gi, (_m, scheme: string, _user, rest: string, query: string | undefined) => {
    // A ';' or ',' at the very end belongs to the sentence, not the URL.
    let tail = '';
    let body = `${rest}${query ?? ''}`;
    const trailing = /[.,;:!]+$/.exec(body);
    if (trailing) {
      tail = trailing[0];
      body = body.slice(0, -tail.length);
    }
    const q = body.search(/[?#]/);
    return `${scheme}${q < 0 ? body : `${body.slice(0, q)}?…`}${tail}`;
  });
}
