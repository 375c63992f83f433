// Stands in for `linkify-it` in the browser bundles (tools/markdown-lite.mjs): linkify is
// off in jslib/markdown.js, so markdown-it only constructs it.
export default class LinkifyIt {
  test() {
    return false;
  }
  pretest() {
    return false;
  }
  match() {
    return null;
  }
  matchAtStart() {
    return null;
  }
  set() {
    return this;
  }
  add() {
    return this;
  }
  tlds() {
    return this;
  }
}
