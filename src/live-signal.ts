/**
 * Signals that are current when read (DESIGN.md, "Answers are current when read"): a leasehold signal re-checks
 * its lease's validity whenever its state is read (`aborted`, `reason`, `throwIfAborted()`), so a job that blocked
 * the event loop past its lease and then checks its signal sees it aborted at once, not at the next timers phase.
 * Listeners (`addEventListener('abort')`, `AbortSignal.any`, `fetch`) are still told by the clock's timers.
 * @module
 */

type Getter = (this: AbortSignal) => unknown;

// Looked up on first use: Workers allow no such work in a module's global scope.
let native: { aborted: Getter; reason: Getter; throwIfAborted: (this: AbortSignal) => void } | null | undefined;

function nativeAccessors(): typeof native {
  if (native === undefined) {
    const proto = globalThis.AbortSignal?.prototype;
    const aborted = proto && Object.getOwnPropertyDescriptor(proto, 'aborted')?.get;
    const reason = proto && Object.getOwnPropertyDescriptor(proto, 'reason')?.get;
    const throwIfAborted = proto?.throwIfAborted;
    native = aborted && reason && typeof throwIfAborted === 'function' ? { aborted, reason, throwIfAborted } : null;
  }
  return native;
}

/**
 * Makes `controller.signal` re-check before its state is read: `check` runs first (and aborts the controller if
 * the lease's validity has ended), then the signal's own state is answered. Returns the same, real `AbortSignal`
 * (it still works with `fetch`, `addEventListener` and `AbortSignal.any`). Where the runtime's `AbortSignal`
 * exposes no accessors to wrap, the signal is returned unchanged (its timers still abort it). Internal to leasehold.
 */
export function liveSignal(controller: AbortController, check: () => void): AbortSignal {
  const signal = controller.signal;
  const accessors = nativeAccessors();
  if (!accessors) return signal;
  const refresh = () => {
    // A check that throws must not turn a read of `aborted` into an exception: it only means no news.
    try {
      if (!accessors.aborted.call(signal)) check();
    } catch {}
  };
  try {
    Object.defineProperties(signal, {
      aborted: {
        configurable: true,
        get() {
          refresh();
          return accessors.aborted.call(signal);
        },
      },
      reason: {
        configurable: true,
        get() {
          refresh();
          return accessors.reason.call(signal);
        },
      },
      throwIfAborted: {
        configurable: true,
        writable: true,
        value() {
          refresh();
          return accessors.throwIfAborted.call(signal);
        },
      },
    });
  } catch {
    // A runtime whose signals take no own properties: the timers alone abort it.
  }
  return signal;
}
