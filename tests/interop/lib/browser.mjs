// A headless "browser" for our authorization flow: follows redirects by hand with a cookie
// jar, approves the consent page and signs in on the embedded login page, and stops at the
// first redirect that leaves the authorization server (the client's redirect_uri).

/** Minimal cookie jar: one origin, name=value pairs, honours Max-Age=0 deletions. */
export class CookieJar {
  constructor() {
    this.cookies = new Map();
  }
  store(response) {
    const lines = response.headers.getSetCookie ? response.headers.getSetCookie() : [];
    for (const line of lines) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const decode = (s) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

const attr = (tag, name) => {
  const m = tag.match(new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i'));
  return m ? decode(m[2] ?? m[3] ?? m[4] ?? '') : undefined;
};

/** Parses the first <form> of an HTML page: action, method and its named inputs/buttons. */
export function parseForm(html) {
  const form = html.match(/<form\b[^>]*>([\s\S]*?)<\/form>/i);
  if (!form) return null;
  const open = form[0].match(/<form\b[^>]*>/i)[0];
  const inputs = {};
  const buttons = [];
  for (const tag of form[1].match(/<(input|button)\b[^>]*>/gi) ?? []) {
    const name = attr(tag, 'name');
    if (!name) continue;
    if (/^<button/i.test(tag)) buttons.push({ name, value: attr(tag, 'value') ?? '' });
    else inputs[name] = attr(tag, 'value') ?? '';
  }
  return {
    action: attr(open, 'action'),
    method: (attr(open, 'method') ?? 'get').toUpperCase(),
    inputs,
    buttons,
  };
}

/**
 * Walks an authorization URL to the client's redirect. `issuer` is the authorization server's
 * origin: every redirect inside it is followed; the first one outside it (or to a path the
 * caller names in `stopAt`) is returned as a URL without being fetched.
 * Returns { url, pages } where pages lists what was seen (for diagnostics and assertions).
 */
export async function walkAuthorization(authorizationUrl, { username, password, issuer, decision = 'approve', stopAt }) {
  const jar = new CookieJar();
  const origin = new URL(issuer).origin;
  const pages = [];
  let request = { url: String(authorizationUrl), method: 'GET', body: undefined };
  for (let hop = 0; hop < 20; hop++) {
    const headers = { accept: 'text/html', 'user-agent': 'interop-headless-browser' };
    const cookie = jar.header();
    if (cookie) headers.cookie = cookie;
    if (request.body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(request.url, {
      method: request.method,
      headers,
      body: request.body,
      redirect: 'manual',
    });
    jar.store(response);
    const where = new URL(request.url);
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(response.headers.get('location'), request.url);
      pages.push({ status: response.status, url: request.url, location: location.href });
      if (location.origin !== origin || (stopAt && stopAt(location))) {
        return { url: location, pages };
      }
      request = { url: location.href, method: 'GET', body: undefined };
      continue;
    }
    const html = await response.text();
    pages.push({ status: response.status, url: request.url, html });
    const form = parseForm(html);
    if (!form) {
      throw new Error(`no form on ${where.pathname} (HTTP ${response.status}): ${html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 300)}`);
    }
    const fields = new URLSearchParams(form.inputs);
    if ('password' in form.inputs) {
      if (pages.filter((p) => p.html && /name="password"/.test(p.html)).length > 1) {
        throw new Error(`login refused: ${html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 300)}`);
      }
      fields.set('username', username);
      fields.set('password', password);
    } else if (form.buttons.some((b) => b.name === 'decision')) {
      fields.set('decision', decision);
    } else {
      throw new Error(`unknown form on ${where.pathname}: ${JSON.stringify(form)}`);
    }
    request = {
      url: new URL(form.action ?? request.url, request.url).href,
      method: form.method,
      body: fields.toString(),
    };
  }
  throw new Error('too many hops in the authorization flow');
}
