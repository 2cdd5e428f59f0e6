/** The fake GitLab API lives with the lab, which runs it for the monitor host's alert bridge (lib/lab/fake-gitlab.ts). */
export { FAKE_PROJECT, fakeGitLab, type FakeIssue, type FakeMr, type FakeNote, type Recorded } from "../../lib/lab/fake-gitlab";
