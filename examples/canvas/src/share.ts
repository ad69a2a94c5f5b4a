import { viewerLinkCommand } from './access';

export interface ShareContext {
  /** The Skein document of this board (`canvas/<board>`). */
  readonly docName: string;
  /** The page was opened with `?token=`. */
  readonly hasToken: boolean;
  /** This page is a view-only link. */
  readonly readOnly: () => boolean;
}

/**
 * "Viewer link": the page cannot mint a token (the signing secret stays on the server), so
 * it shows the `skein token` command that makes a view-only link to this board, with a copy
 * button. A page that is itself a view-only link offers to copy its own URL instead.
 */
export function mountShare(button: HTMLButtonElement, popover: HTMLElement, ctx: ShareContext): () => void {
  const render = (): void => {
    const readOnly = ctx.readOnly();
    button.textContent = readOnly ? 'Copy view-only link' : 'Viewer link…';
    popover.replaceChildren();
    if (readOnly) return;
    const page = pageLink(false);
    const command = viewerLinkCommand(ctx.docName, page);
    const title = document.createElement('h2');
    title.textContent = 'A view-only link to this board';
    const intro = document.createElement('p');
    intro.textContent = ctx.hasToken
      ? 'Viewers watch live and cannot edit. This page cannot make the link — the signing secret stays on the server — so run:'
      : 'This server runs without access control (--auth none): anyone with this URL can edit. Start it with --auth jwt, then run:';
    const code = document.createElement('code');
    code.id = 'viewer-command';
    code.textContent = command;
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.className = 'copy';
    copy.textContent = 'Copy command';
    copy.addEventListener('click', () => void copyText(command, copy, code));
    const note = document.createElement('p');
    note.className = 'note';
    note.textContent = ctx.hasToken
      ? 'Run it with the server’s secret (SKEIN_AUTH_JWT_SECRET); it prints this page with ?token=<read-only token>. Do not share this page’s own URL: its token can edit.'
      : 'Run it with the server’s secret (SKEIN_AUTH_JWT_SECRET); it prints this page with ?token=<read-only token>. Editors need a write token (docs/security.md).';
    popover.append(title, intro, code, copy, note);
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
