import type { Logger } from './logger.js';

/** One part of the running gateway that has something to do when it starts or stops. */
export interface Component {
  readonly name: string;
  start?(): Promise<void> | void;
  stop?(): Promise<void> | void;
}

/**
 * Starts components in their order and stops the started ones in the reverse order: what a component uses is
 * listed before it, so it is up before it and still up while it stops. A failing stop is logged and the others
 * go on stopping, so one broken dependency cannot leave connections open behind it.
 */
export function lifecycle(components: readonly Component[], logger: Logger) {
  const started: Component[] = [];
  return {
    async start(): Promise<void> {
      for (const component of components) {
        started.push(component);
        await component.start?.();
      }
    },
    async stop(): Promise<void> {
      for (const component of started.splice(0).reverse()) {
        try {
          await component.stop?.();
        } catch (error) {
          logger.error({ err: error, component: component.name }, 'a component failed to stop; stopping the others');
        }
      }
    },
  };
}
