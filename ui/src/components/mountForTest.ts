// Mounts a component into a fresh element of the test's DOM (component tests run under happy-dom).
import { flushSync, mount, unmount, type Component } from 'svelte';

export function mountForTest<Props extends Record<string, unknown>>(component: Component<Props>, props: Props) {
  const target = document.createElement('div');
  document.body.append(target);
  const instance = mount(component, { target, props });
  flushSync();
  return {
    target,
    destroy() {
      unmount(instance);
      target.remove();
    },
  };
}
