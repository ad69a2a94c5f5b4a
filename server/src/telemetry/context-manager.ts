import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, context, type Context, type ContextManager } from '@opentelemetry/api';

/**
 * The active OpenTelemetry context of this process, carried by `AsyncLocalStorage` (what
 * `@opentelemetry/context-async-hooks` does; ours is a few lines and avoids a dependency).
 * It makes `context.with(ctx, fn)` visible to everything `fn` starts, synchronously or through
 * promises, so a span started in the transport is the parent of the persistence work it causes
 * and log lines carry its ids.
 */
class AlsContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const cb = thisArg === undefined ? fn : fn.bind(thisArg);
    return this.#storage.run(ctx, cb, ...args);
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as (...args: unknown[]) => unknown;
    const bound = (...args: unknown[]): unknown => this.#storage.run(ctx, () => fn(...args));
    return bound as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#storage.disable();
    return this;
  }
}

let installed = false;

/**
 * Install the context manager once per process (idempotent). Only done when tracing is on:
 * without it `context.with` is a plain call and costs nothing.
 */
export function installContextManager(): void {
  if (installed) return;
  installed = true;
  // False when the embedding application registered its own (e.g. the NodeSDK's): use that one.
  context.setGlobalContextManager(new AlsContextManager());
}
