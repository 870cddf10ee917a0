"""Streamlit's connection dialog in Chinese.

When the server stops answering, Streamlit's page shows an English dialog of its own ("Are
you connected to the internet?", or "streamlit run yourscript.py" to restart), which no
configuration option changes. A script in the page puts each of its sentences in Chinese
as the dialog appears, and names the command that really restarts the app.
"""

from __future__ import annotations

import streamlit as st

# Streamlit's words, exactly as its page writes them → what the reviewer reads instead.
WORDS = {
    "Connection error": "连接中断",
    "Streamlit server is not responding. Are you connected to the internet?": (
        "复核界面的服务没有回应：启动它的 gouji review 可能已经停止。"
        "请在终端重新运行 gouji review（用原来的选项），再刷新本页。"
    ),
    "Is Streamlit still running? If you accidentally stopped Streamlit, just restart it in "
    "your terminal:": "复核界面的服务没有回应：启动它的 gouji review 可能已经停止。"
    "请在终端重新运行（用原来的选项），再刷新本页：",
    "streamlit run yourscript.py": "gouji review",
    "Connection timed out.": "连接超时。",
}

_JS = """
export default function (component) {
  const state = window.goujiDisconnected || { words: {} };
  state.words = component.data;
  if (window.goujiDisconnected) return;
  window.goujiDisconnected = state;
  const translate = () => {
    for (const dialog of document.querySelectorAll('[data-testid="stDialog"]')) {
      const walker = document.createTreeWalker(dialog, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const said = state.words[node.nodeValue.trim()];
        if (said !== undefined) node.nodeValue = said;
      }
    }
  };
  new MutationObserver(translate).observe(document.body,
    { childList: true, subtree: true, characterData: true });
}
"""

_component = st.components.v2.component("gouji_disconnected", js=_JS)


def chinese_when_disconnected() -> None:
    """Put the page's translator in place (once a page; a rerun leaves it as it is). Its
    element is hidden, so it takes no room (the script runs all the same)."""
    st.html("<style>.st-key-disconnected { display: none; }</style>")
    _component(key="disconnected", data=WORDS, height=0)
