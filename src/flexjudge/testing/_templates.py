"""Chat templates of the Qwen checkpoints the tiny models imitate.

The strings are the standard Qwen2.5-VL and Qwen2.5-Omni templates, character for character:
TRL recognises a template by string equality before it swaps in a training version with
``{% generation %}`` markers (``assistant_only_loss``), so they must not be reformatted.
"""

from __future__ import annotations

from flexjudge.families import PLACEHOLDERS

_VL = PLACEHOLDERS["qwen2_5_vl"]
_OMNI = PLACEHOLDERS["qwen2_5_omni"]

_HEAD = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
)
_IMAGE = (
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
)
_VIDEO = (
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
)
_AUDIO = (
    "{% elif content['type'] == 'audio' or 'audio' in content or 'audio_url' in content %}"
    "{% set audio_count.value = audio_count.value + 1 %}"
    "{% if add_audio_id %}Audio {{ audio_count.value }}: {% endif %}" + _OMNI["audio"]
)
_TAIL = (
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_COUNTERS = "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"

#: The Qwen2.5-VL(-Instruct) chat template (also used for the text-only tiny Qwen2).
QWEN2_5_VL_CHAT_TEMPLATE = _COUNTERS + _HEAD + _IMAGE + _VL["image"] + _VIDEO + _VL["video"] + _TAIL

#: The Qwen2.5-Omni chat template (thinker and full model).
QWEN2_5_OMNI_CHAT_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}"
    + _COUNTERS
    + _HEAD
    + _IMAGE
    + _OMNI["image"]
    + _AUDIO
    + _VIDEO
    + _OMNI["video"]
    + _TAIL
)
