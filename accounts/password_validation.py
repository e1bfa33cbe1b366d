"""Django's password validators with messages in "tú" (its es/es_CO catalogs say "su contraseña").

Same rules, only the words change: ``get_error_message`` and ``get_help_text`` are the
hooks Django 5.2 gives for exactly this.
"""

from django.contrib.auth import password_validation as django_validation


class UserAttributeSimilarityValidator(django_validation.UserAttributeSimilarityValidator):
    def get_error_message(self):
        return "La contraseña se parece demasiado a tu %(verbose_name)s."

    def get_help_text(self):
        return "No puede parecerse a tu nombre, tu cédula ni tu teléfono."


class MinimumLengthValidator(django_validation.MinimumLengthValidator):
    def get_error_message(self):
        return f"La contraseña es muy corta: escribe al menos {self.min_length} caracteres."

    def get_help_text(self):
        return f"Usa al menos {self.min_length} caracteres."


class CommonPasswordValidator(django_validation.CommonPasswordValidator):
    def get_error_message(self):
        return "Esa contraseña es demasiado común; elige otra más difícil de adivinar."

    def get_help_text(self):
        return "No uses una contraseña común."


class NumericPasswordValidator(django_validation.NumericPasswordValidator):
    def get_error_message(self):
        return "La contraseña no puede tener solo números."

    def get_help_text(self):
        return "No puede tener solo números."
