// Vite's `?raw` imports (a file's text as a string), as the API tests read wrangler.toml.
declare module "*?raw" {
  const text: string;
  export default text;
}
