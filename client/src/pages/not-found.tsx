// The page for an address no route matches: says so and links back to the exposures.
import type { JSX } from "preact";

export function NotFoundPage(): JSX.Element {
  return (
    <section class="page">
      <h1>Page not found</h1>
      <p>
        Nothing lives at this address. <a href="/">Back to exposures</a>.
      </p>
    </section>
  );
}
