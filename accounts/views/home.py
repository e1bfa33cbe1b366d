"""The member's home page: census card and referral progress."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.selectors.users import user_referral_count
from accounts.views.common import referral_link, referral_qr_svg


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    count = user_referral_count(user=user)
    goal = max(user.referral_goal, 1)
    link = referral_link(request, user)
    return render(
        request,
        "accounts/home.html",
        {
            "referral_link": link,
            "referral_share_text": f"Únete a mi equipo en PaginaMadre y consulta dónde votas: {link}",
            "referral_qr": referral_qr_svg(link),
            "referral_count": count,
            "referral_goal": goal,
            "referral_progress": min(100, round(count * 100 / goal)),
        },
    )
