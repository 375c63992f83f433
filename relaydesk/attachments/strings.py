"""Console strings for attachments, in every locale; registered on import (the
attachments routes import this module, so the console's boot strings carry them)."""

from __future__ import annotations

from relaydesk.core.i18n import register

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "console.att.attach": "Attach",
        "console.att.hint": "Attach an image or PDF (10 MB at most)",
        "console.att.remove": "Remove",
        "console.att.uploading": "Uploading",
        "console.att.failed": "Upload failed",
        "console.att.wait": "Wait for the uploads to finish",
    },
    "zh": {
        "console.att.attach": "附件",
        "console.att.hint": "添加图片或 PDF（最大 10 MB）",
        "console.att.remove": "移除",
        "console.att.uploading": "上传中",
        "console.att.failed": "上传失败",
        "console.att.wait": "请等待上传完成",
    },
}

register(STRINGS)
