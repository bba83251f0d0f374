// Wide content fitted to the printed page. On screen the heatmap's columns scroll sideways under
// sticky row labels; on paper nothing scrolls, so while the print media applies each element
// matching the selector is zoomed down (never up) to its container's width: its HTML labels and
// its canvas shrink together and stay aligned. Measured when printing starts (the `print` media
// query's change, `beforeprint`) and on a resize meanwhile; undone after printing.

/** The zoom that fits `natural` CSS pixels into `available`: at most 1, and 1 when unknown. */
export function printZoom(available: number, natural: number): number {
  if (!(available > 0) || !(natural > 0)) return 1;
  return Math.min(1, Math.floor((available / natural) * 1000) / 1000);
}

/** Zooms the matching elements while printing; returns the function that stops it. */
export function fitForPrint(selector: string): () => void {
  const print = window.matchMedia("print");
  const elements = () => [...document.querySelectorAll<HTMLElement>(selector)];
  const clear = (): void => {
    for (const element of elements()) element.style.removeProperty("zoom");
  };
  const apply = (): void => {
    clear();
    for (const element of elements()) {
      const available = element.parentElement?.clientWidth ?? 0;
      const zoom = printZoom(available, element.scrollWidth);
      if (zoom < 1) element.style.setProperty("zoom", String(zoom));
    }
  };
  const onMedia = (): void => (print.matches ? apply() : clear());
  const onResize = (): void => {
    if (print.matches) apply();
  };
  print.addEventListener("change", onMedia);
  window.addEventListener("beforeprint", apply);
  window.addEventListener("afterprint", clear);
  window.addEventListener("resize", onResize);
  return () => {
    print.removeEventListener("change", onMedia);
    window.removeEventListener("beforeprint", apply);
    window.removeEventListener("afterprint", clear);
    window.removeEventListener("resize", onResize);
    clear();
  };
}
