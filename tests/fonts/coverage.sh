#!/usr/bin/env bash
# Checks that the fonts `make run` installs draw what characters write: Japanese and Chinese (simplified
# and traditional), common kaomoji and emoji. Each character must be in some installed font
# (fontconfig's view, which WebKitGTK draws with); a missing one prints as an empty box in the chat.
set -euo pipefail
command -v fc-list >/dev/null || { echo "fc-list (fontconfig) is missing"; exit 1; }
# お茶 漢字 简体 繁體 한국 + kaomoji parts (≧▽≦ ☆ ╯°□°）︵ ┻━┻ ʕ•ᴥ•ʔ ω ´∀｀ ๑ ♪ ~ ノ ｡ ﾟ ∩ ✧) + emoji.
SAMPLE="お茶漢字简体繁體한국≧▽≦☆╯°□）︵┻━ʕ•ᴥʔω´∀｀๑♪～ノ｡ﾟ∩✧😊😭🎉❤🙏"
missing=()
while IFS= read -r -n1 ch; do
  [[ -z "$ch" ]] && continue
  hex=$(printf '%x' "'$ch")
  [[ -n "$(fc-list ":charset=$hex" family | head -n1)" ]] || missing+=("$ch (U+${hex^^})")
done <<<"$SAMPLE"
if ((${#missing[@]})); then
  echo "no installed font draws: ${missing[*]} (make run installs fonts-noto-cjk and fonts-noto-color-emoji)"
  exit 1
fi
echo "fonts: every sample character is drawn ($(fc-list | wc -l) font files)"
