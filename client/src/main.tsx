import { render } from "preact";
import { App } from "./app.tsx";
import "./styles.css";
import "./print.css";

const root = document.getElementById("app");
if (root) render(<App />, root);
