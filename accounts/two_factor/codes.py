"""What the codes look like: the authenticator app's (TOTP) parameters, the backup codes,
and what a person typed, normalised and recognised."""

import re

BACKUP_CODE_COUNT = 10
TOTP_DIGITS = 6
TOTP_STEP = 30
# Codes from the step before and after the current one are accepted (clock drift).
TOTP_TOLERANCE = 1

_AUTHENTICATOR_CODE = re.compile(r"^[0-9]{6}$")
_BACKUP_CODE = re.compile(r"^[a-z2-7]{8}$")


def normalise_code(code: str | None) -> str:
    """What a person typed, without spaces or hyphens, lower-cased."""
    return re.sub(r"[\s-]", "", code or "").lower()


def is_authenticator_code(code: str) -> bool:
    return bool(_AUTHENTICATOR_CODE.match(code))


def is_backup_code(code: str) -> bool:
    return bool(_BACKUP_CODE.match(code))


def format_backup_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def backup_code_count_warning(left: int) -> str:
    """What to tell someone who has just used a backup code."""
    if left == 0:
        return (
            "You used your last backup code. Make new backup codes now from Two-factor "
            "sign-in, in case you lose your phone."
        )
    codes = "backup code" if left == 1 else "backup codes"
    advice = " Consider making new ones from Two-factor sign-in." if left <= 3 else ""
    return f"You used a backup code. You have {left} {codes} left.{advice}"
