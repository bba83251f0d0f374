// After each file: wait until the batch runs it caused have ended. A position change starts the
// portfolio's history run through the queue; a run still in flight when the next file starts
// would race that file's assertions (and the runtime does not shut down under it cleanly).
import { afterAll } from "vitest";
import { waitForIdleRuns } from "./support.ts";

afterAll(() => waitForIdleRuns());
