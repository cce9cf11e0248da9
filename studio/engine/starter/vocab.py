"""The starter models' vocabulary and conditioning, shared by training, the engine and the UI.

Style: three attributes, each optional. A style id packs them for a class embedding:
    id = time + 5 * (weather + 4 * season), with 0 meaning "unspecified" in each slot,
so id 0 is the fully unconditional style (used for classifier-free guidance).
Labels: Landscape palette values 0..24 (0 = unlabeled / not painted), one-hot to 25 channels;
an all-zero label input means "no label map" (the other half of the unconditional input).

A prompt is read word by word (lower case, punctuation dropped): style words (with synonyms),
material words (Landscape class names, with plurals and synonyms) and filler words are
understood; every other word is reported as ignored, never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TIMES = ("day", "golden hour", "sunset", "night")
WEATHERS = ("clear", "cloudy", "foggy")
SEASONS = ("summer", "autumn", "winter")
NUM_STYLES = (len(TIMES) + 1) * (len(WEATHERS) + 1) * (len(SEASONS) + 1)  # 80
LABEL_CHANNELS = 25  # Landscape values 0..24; channel 0 = unlabeled

# Landscape class names (resources/palettes/landscape.json), value = index + 1.
MATERIALS = (
    "sky", "clouds", "water", "sea", "river", "lake", "waterfall", "mountain", "hill", "rock",
    "grass", "field", "tree", "bush", "flower", "sand", "snow", "dirt", "road", "path",
    "building", "house", "bridge", "fog",
)  # fmt: skip

_TIME_WORDS = {
    "day": "day", "daytime": "day", "noon": "day", "midday": "day", "morning": "day",
    "afternoon": "day", "daylight": "day", "golden": "golden hour", "evening": "golden hour",
    "sunrise": "golden hour", "dawn": "golden hour", "sunset": "sunset", "dusk": "sunset",
    "twilight": "sunset", "night": "night", "midnight": "night", "nighttime": "night",
    "moonlight": "night", "moonlit": "night", "starry": "night",
}  # fmt: skip
_WEATHER_WORDS = {
    "clear": "clear", "sunny": "clear", "cloudless": "clear", "cloudy": "cloudy",
    "overcast": "cloudy", "foggy": "foggy", "misty": "foggy", "mist": "foggy", "hazy": "foggy",
    "haze": "foggy",
}  # fmt: skip
_SEASON_WORDS = {
    "summer": "summer", "summery": "summer", "spring": "summer", "autumn": "autumn",
    "fall": "autumn", "autumnal": "autumn", "winter": "winter", "wintry": "winter",
    "snowy": "winter",
}  # fmt: skip
_MATERIAL_WORDS = {name: name for name in MATERIALS}
_MATERIAL_WORDS.update({
    "skies": "sky", "cloud": "clouds", "ocean": "sea", "seas": "sea", "coast": "sea",
    "rivers": "river", "stream": "river", "creek": "river", "lakes": "lake", "pond": "lake",
    "waterfalls": "waterfall", "mountains": "mountain", "peak": "mountain", "peaks": "mountain",
    "hills": "hill", "hillside": "hill", "rocks": "rock", "rocky": "rock", "cliff": "rock",
    "cliffs": "rock", "stone": "rock", "meadow": "grass", "grassy": "grass", "lawn": "grass",
    "fields": "field", "farmland": "field", "trees": "tree", "forest": "tree", "woods": "tree",
    "bushes": "bush", "shrub": "bush", "shrubs": "bush", "flowers": "flower", "beach": "sand",
    "desert": "sand", "dunes": "sand", "mud": "dirt", "earth": "dirt", "roads": "road",
    "paths": "path", "trail": "path", "buildings": "building", "houses": "house",
    "cottage": "house", "bridges": "bridge",
})  # fmt: skip
# "fog" names both a material and the weather; "snow" both a material and winter.
_ALSO_STYLE = {"fog": ("weather", "foggy"), "snow": ("season", "winter")}
FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "by",
        "with",
        "and",
        "or",
        "over",
        "under",
        "near",
        "under",
        "beside",
        "behind",
        "above",
        "below",
        "to",
        "from",
        "into",
        "across",
        "along",
        "through",
        "far",
        "distant",
        "big",
        "small",
        "large",
        "tall",
        "little",
        "some",
        "many",
        "very",
        "beautiful",
        "landscape",
        "scene",
        "view",
        "picture",
        "image",
        "photo",
        "painting",
        "of",
    ]
)


def style_id(time: str | None = None, weather: str | None = None, season: str | None = None) -> int:
    """Pack the three optional attributes into 0..79 (0 = all unspecified)."""
    t = 0 if time is None else TIMES.index(time) + 1
    w = 0 if weather is None else WEATHERS.index(weather) + 1
    s = 0 if season is None else SEASONS.index(season) + 1
    return t + (len(TIMES) + 1) * (w + (len(WEATHERS) + 1) * s)


def style_parts(sid: int) -> tuple[str | None, str | None, str | None]:
    """The inverse of style_id: (time, weather, season), None where unspecified."""
    if not 0 <= sid < NUM_STYLES:
        raise ValueError(f"style id {sid} is outside 0..{NUM_STYLES - 1}")
    t, rest = sid % (len(TIMES) + 1), sid // (len(TIMES) + 1)
    w, s = rest % (len(WEATHERS) + 1), rest // (len(WEATHERS) + 1)
    return (
        TIMES[t - 1] if t else None,
        WEATHERS[w - 1] if w else None,
        SEASONS[s - 1] if s else None,
    )


def material_value(name: str) -> int:
    """Landscape palette value of a material name (1..24)."""
    return MATERIALS.index(name) + 1


@dataclass(frozen=True)
class PromptReading:
    """What the starter understood of a prompt."""

    time: str | None = None
    weather: str | None = None
    season: str | None = None
    materials: tuple[str, ...] = ()  # in first-mention order, each once
    ignored: tuple[str, ...] = ()  # words it does not understand, in order, each once

    @property
    def style_id(self) -> int:
        return style_id(self.time, self.weather, self.season)


def read_prompt(text: str) -> PromptReading:
    """Split a prompt into style, materials and ignored words ("golden hour" is one word)."""
    words = re.findall(r"[a-z]+", (text or "").lower())
    found: dict[str, str | None] = {"time": None, "weather": None, "season": None}
    materials: list[str] = []
    ignored: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "golden" and i + 1 < len(words) and words[i + 1] == "hour":
            found["time"] = found["time"] or "golden hour"
            i += 2
            continue
        if word in _TIME_WORDS:
            found["time"] = found["time"] or _TIME_WORDS[word]
        elif word in _WEATHER_WORDS:
            found["weather"] = found["weather"] or _WEATHER_WORDS[word]
        elif word in _SEASON_WORDS:
            found["season"] = found["season"] or _SEASON_WORDS[word]
        elif word in _MATERIAL_WORDS:
            name = _MATERIAL_WORDS[word]
            if name not in materials:
                materials.append(name)
            if name in _ALSO_STYLE:
                slot, value = _ALSO_STYLE[name]
                found[slot] = found[slot] or value
        elif word not in FILLER and word not in ignored:
            ignored.append(word)
        i += 1
    return PromptReading(
        found["time"], found["weather"], found["season"], tuple(materials), tuple(ignored)
    )


def caption(time: str | None, weather: str | None, season: str | None, materials=()) -> str:
    """A caption in the starter vocabulary (what `studio data synth` writes in meta)."""
    parts = [p for p in (time, weather, season) if p]
    return ", ".join(parts + list(materials))
