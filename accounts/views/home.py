"""The member's home page: census card and referral progress."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.selectors.users import user_referral_count
from accounts.views.common import referral_link


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    count = user_referral_count(user=user)
    goal = max(user.referral_goal, 1)
    return render(
        request,
        "accounts/home.html",
        {
            "referral_link": referral_link(request, user),
            "referral_count": count,
            "referral_goal": goal,
            "referral_progress": min(100, round(count * 100 / goal)),
        },
    )
