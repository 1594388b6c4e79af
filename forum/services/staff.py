"""Staff accounts: the secretariat, who sign in with a password at /sign-in/ and hold no seat."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import Seat, User


@transaction.atomic
def staff_account_save(*, email: str, password: str) -> tuple[User, bool]:
    """Create the staff account `email` (its username too), or set a new password on it.
    Refusals: invalid_email, invalid_password (Django's password validators), seat_holder
    (the address holds a seat: a seat never carries staff rights, so a staff account needs
    an address of its own)."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
        if len(email) > User._meta.get_field("username").max_length:
            raise ValidationError("too long")
    except ValidationError:
        raise ServiceError(
            "invalid_email", _("%(email)s is not a valid e-mail address.") % {"email": repr(email)}
        ) from None
    user = User.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).first()
    if user is not None and Seat.objects.filter(user=user).exists():
        raise ServiceError(
            "seat_holder",
            _(
                "%(email)s holds a seat in a round table; a staff account needs an "
                "e-mail address of its own."
            )
            % {"email": email},
        )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ServiceError("invalid_password", " ".join(exc.messages)) from None
    created = user is None
    if created:
        user = User(username=email, email=email)
    user.is_staff = True
    user.is_active = True
    user.set_password(password)
    user.save()
    return user, created
