import { editorLinkCommand, viewerLinkCommand } from './access';

export interface ShareContext {
  /** The Skein document of this board (`canvas/<board>`). */
  readonly docName: string;
  /** The page was opened with `?token=`. */
  readonly hasToken: boolean;
  /** This page is a view-only link. */
  readonly readOnly: () => boolean;
}

/**
 * "Share…": an editor link and a view-only link to this board. The page cannot mint a token
 * (the signing secret stays on the server), so for a server with `--auth jwt` it shows the
 * `skein token` commands that make them, each with a copy button. Without access control
 * (`--auth none`) this page's URL is the editor link, and a view-only link needs the server
 * to check tokens first. A page that is itself a view-only link copies its own URL.
 */
export function mountShare(button: HTMLButtonElement, popover: HTMLElement, ctx: ShareContext): () => void {
  const render = (): void => {
    const readOnly = ctx.readOnly();
    button.textContent = readOnly ? 'Copy view-only link' : 'Share…';
    popover.replaceChildren();
    if (readOnly) return;
    const page = pageLink(false);
    const title = document.createElement('h2');
    title.textContent = 'Share this board';
    popover.append(title);
    if (ctx.hasToken) {
      section(popover, 'editor', 'Editor link', 'Can draw, move, write and undo on this board only.', editorLinkCommand(ctx.docName, page), 'Copy command');
    } else {
      section(popover, 'editor', 'Editor link', 'This server runs without access control (--auth none): anyone with this URL can edit.', page, 'Copy link');
    }
    section(
      popover,
      'viewer',
      'View-only link',
      ctx.hasToken
        ? 'Watches live and cannot change anything. This page cannot make the link — the signing secret stays on the server — so run:'
        : 'A view-only link needs a server that checks tokens: start it with --auth jwt, then run:',
      viewerLinkCommand(ctx.docName, page),
      'Copy command',
    );
    const note = document.createElement('p');
    note.className = 'note';
    note.textContent = ctx.hasToken
      ? 'Run the commands with the server’s secret (SKEIN_AUTH_JWT_SECRET); each prints this page with ?token=<token>. Do not share this page’s own URL: its token is yours.'
      : 'Run it with the server’s secret (SKEIN_AUTH_JWT_SECRET); it prints this page with ?token=<read-only token>. Editors need a write token then (docs/security.md).';
    popover.append(note);
  };

  button.addEventListener('click', (e) => {
    e.stopPropagation();
    if (ctx.readOnly()) {
      void copyText(pageLink(true), button);
      return;
    }
    render();
    popover.hidden = !popover.hidden;
  });
  popover.addEventListener('pointerdown', (e) => e.stopPropagation());
  document.addEventListener('pointerdown', () => (popover.hidden = true));
  window.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') popover.hidden = true;
  });
  return () => {
    render();
    if (ctx.readOnly()) popover.hidden = true;
  };
}

function section(root: HTMLElement, kind: 'editor' | 'viewer', heading: string, intro: string, text: string, copyLabel: string): void {
  const h = document.createElement('h3');
  h.textContent = heading;
  const p = document.createElement('p');
  p.textContent = intro;
  const code = document.createElement('code');
  code.id = `${kind}-command`;
  code.textContent = text;
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.className = 'copy';
  copy.dataset.copy = kind;
  copy.textContent = copyLabel;
  copy.addEventListener('click', () => void copyText(text, copy, code));
  root.append(h, p, code, copy);
}

/** This page's URL without who-am-I parameters (a viewer picks their own), with or without its token. */
function pageLink(withToken: boolean): string {
  const url = new URL(location.href);
  for (const param of withToken ? ['name', 'color'] : ['token', 'name', 'color']) url.searchParams.delete(param);
  return url.toString();
}

async function copyText(text: string, button: HTMLButtonElement, fallback?: HTMLElement): Promise<void> {
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    // No clipboard (an insecure origin, or denied): select the text for Ctrl+C.
    if (fallback !== undefined) getSelection()?.selectAllChildren(fallback);
    button.textContent = 'Press Ctrl+C';
  }
  setTimeout(() => (button.textContent = label), 1500);
}
