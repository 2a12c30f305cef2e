from allauth.account.adapter import DefaultAccountAdapter


class PortalAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # People arrive only by invitation (clients.services.invitation_accept); there is no public sign-up.
        return False
