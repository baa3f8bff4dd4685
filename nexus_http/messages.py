"""Every human-readable message of the API, in Spanish (default) and English, by code.

Codes come from the core's ``DomainError``s (``user.email_taken``) or from the HTTP layer
(``http.not_found``). One catalogue, so a wording changes in exactly one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CATALOGUE: dict[str, tuple[str, str]] = {
    # Field rules
    "field.required": ("Este campo es obligatorio", "This field is required"),
    "field.too_long": (
        "Es demasiado largo (máximo {max} caracteres)",
        "It is too long (at most {max} characters)",
    ),
    "field.wrong_type": ("El valor no tiene el tipo esperado", "The value has the wrong type"),
    "field.invalid": ("El valor no es válido", "The value is not valid"),
    "field.invalid_characters": (
        "El texto contiene caracteres de control no permitidos",
        "The text contains control characters that are not allowed",
    ),
    "validation.failed": ("Los datos enviados no son válidos", "The data sent is not valid"),
    "email.invalid": ("El correo electrónico no es válido", "The email address is not valid"),
    "phone.invalid": ("El teléfono no es válido", "The phone number is not valid"),
    "password.too_short": (
        "La contraseña debe tener al menos {min} caracteres",
        "The password must be at least {min} characters long",
    ),
    "password.too_long": (
        "La contraseña no puede superar {max} bytes",
        "The password cannot be longer than {max} bytes",
    ),
    "language.invalid": ("El idioma debe ser es o en", "The language must be es or en"),
    "theme.invalid": (
        "El tema debe ser light, dark o system",
        "The theme must be light, dark or system",
    ),
    "timezone.invalid": (
        "La zona horaria no es válida (usa un nombre IANA como Europe/Madrid)",
        "The time zone is not valid (use an IANA name such as Europe/Madrid)",
    ),
    "country.invalid": (
        "El país debe ser un código ISO de dos letras (por ejemplo ES)",
        "The country must be a two-letter ISO code (for example ES)",
    ),
    "send_rate.out_of_range": (
        "El ritmo de envío debe estar entre {min} y {max} mensajes por minuto",
        "The sending rate must be between {min} and {max} messages a minute",
    ),
    # Accounts and sessions
    "user.email_taken": (
        "Ya existe una cuenta con este correo electrónico",
        "An account with this email already exists",
    ),
    "auth.invalid_credentials": (
        "Correo electrónico o contraseña incorrectos",
        "Incorrect email or password",
    ),
    "auth.not_authenticated": (
        "No has iniciado sesión o tu sesión ha caducado",
        "You are not logged in or your session has expired",
    ),
    "auth.session_expired": (
        "Tu sesión ha caducado; inicia sesión de nuevo",
        "Your session has expired; please log in again",
    ),
    "auth.wrong_password": ("La contraseña actual no es correcta", "The current password is wrong"),
    "auth.forbidden": ("Acceso denegado", "Access denied"),
    "auth.locked_out": (
        "Demasiados intentos fallidos; inténtalo de nuevo en {retry_after} segundos",
        "Too many failed attempts; try again in {retry_after} seconds",
    ),
    "rate.too_many_attempts": (
        "Demasiadas solicitudes; inténtalo de nuevo en {retry_after} segundos",
        "Too many requests; try again in {retry_after} seconds",
    ),
    "resource.not_found": ("No encontrado", "Not found"),
    "resource.conflict": ("La operación entra en conflicto con el estado actual", "Conflict"),
    "rule.refused": ("La operación no está permitida", "The operation is not allowed"),
    # Lists
    "field.not_an_integer": ("Debe ser un número entero", "It must be a whole number"),
    "field.below_minimum": ("Debe ser como mínimo {min}", "It must be at least {min}"),
    # Contacts
    "contact.phone_or_email_required": (
        "Indica un teléfono o un correo electrónico",
        "Give a phone number or an email address",
    ),
    "contact.status_invalid": (
        "El estado debe ser activo o inactivo",
        "The status must be activo or inactivo",
    ),
    "contact.too_many_tags": (
        "Un contacto puede tener como máximo {max} etiquetas",
        "A contact can have at most {max} tags",
    ),
    "contact.tag_too_long": (
        "Cada etiqueta puede tener como máximo {max} caracteres",
        "Each tag can be at most {max} characters long",
    ),
    "contact.tag_separator": (
        "Una etiqueta no puede contener «,», «;» ni «|»",
        "A tag cannot contain “,”, “;” or “|”",
    ),
    "contact.sort_invalid": (
        "El orden debe ser name, -name, created_at o -created_at",
        "The sort must be name, -name, created_at or -created_at",
    ),
    "contact.not_found": ("Contacto no encontrado", "Contact not found"),
    "contact.phone_taken": (
        "Ya existe un contacto con este teléfono",
        "A contact with this phone number already exists",
    ),
    "contact.email_taken": (
        "Ya existe un contacto con este correo electrónico",
        "A contact with this email address already exists",
    ),
    # Campaigns
    "campaign.not_found": ("Campaña no encontrada", "Campaign not found"),
    "campaign.status_invalid": (
        "El estado debe ser draft, scheduled, active, paused, completed, cancelled o failed",
        "The status must be draft, scheduled, active, paused, completed, cancelled or failed",
    ),
    "campaign.channel_invalid": (
        "El canal debe ser whatsapp o email",
        "The channel must be whatsapp or email",
    ),
    "campaign.subject_required": (
        "Una campaña de correo electrónico necesita un asunto",
        "An email campaign needs a subject",
    ),
    "campaign.media_url_invalid": (
        "La URL del archivo multimedia debe ser una dirección http o https válida",
        "The media URL must be a valid http or https address",
    ),
    "campaign.media_type_invalid": (
        "El tipo de archivo multimedia debe ser image, video, document o audio",
        "The media type must be image, video, document or audio",
    ),
    "campaign.media_type_required": (
        "Indica el tipo del archivo multimedia (image, video, document o audio)",
        "Give the media type (image, video, document or audio)",
    ),
    "campaign.media_url_required": (
        "Indica la URL del archivo multimedia",
        "Give the media URL",
    ),
    "campaign.contact_id_invalid": (
        "El identificador de contacto {id} no es válido",
        "The contact id {id} is not valid",
    ),
    "campaign.contact_not_found": (
        "El contacto {id} no existe o no es tuyo",
        "Contact {id} does not exist or is not yours",
    ),
    "campaign.template_name_invalid": (
        "El nombre de la plantilla solo puede tener minúsculas, dígitos y guiones bajos",
        "The template name can only hold lower-case letters, digits and underscores",
    ),
    "campaign.template_language_invalid": (
        "El idioma de la plantilla no es válido (por ejemplo es o en_US)",
        "The template language is not valid (for example es or en_US)",
    ),
    "campaign.template_param_invalid": (
        "Un parámetro de plantilla no puede tener saltos de línea, tabuladores ni más de "
        "cuatro espacios seguidos",
        "A template parameter cannot hold line breaks, tabs or more than four spaces in a row",
    ),
    "campaign.scheduled_at_invalid": (
        "La fecha programada no es válida (usa RFC 3339, por ejemplo 2026-11-26T14:00:00Z)",
        "The scheduled time is not valid (use RFC 3339, for example 2026-11-26T14:00:00Z)",
    ),
    "campaign.scheduled_at_timezone_required": (
        "La fecha programada debe indicar su zona horaria (Z o un desfase como +01:00)",
        "The scheduled time must give its time zone (Z or an offset such as +01:00)",
    ),
    "campaign.scheduled_at_past": (
        "La fecha programada debe estar en el futuro",
        "The scheduled time must be in the future",
    ),
    "campaign.not_editable": (
        "La campaña no se puede modificar en su estado actual ({status})",
        "The campaign cannot be changed in its current status ({status})",
    ),
    "campaign.not_deletable": (
        "No se puede eliminar una campaña en curso; páusala o cancélala antes",
        "A campaign that is sending cannot be deleted; pause or cancel it first",
    ),
    "campaign.invalid_transition": (
        "La acción {action} no está permitida en el estado actual de la campaña ({status})",
        "The action {action} is not allowed in the campaign's current status ({status})",
    ),
    "campaign.no_failed_deliveries": (
        "La campaña no tiene envíos fallidos que reintentar",
        "The campaign has no failed deliveries to retry",
    ),
    "campaign.channel_not_configured": (
        "Configura las credenciales del canal de la campaña en tu perfil antes de enviarla",
        "Set up the credentials of the campaign's channel in your profile before sending it",
    ),
    "campaign.audience_empty": (
        "La audiencia no tiene ningún contacto activo, sin baja y con dirección para el canal",
        "The audience has no active, subscribed contact with an address for the channel",
    ),
    "delivery.status_invalid": (
        "El estado del envío no es válido",
        "The delivery status is not valid",
    ),
    # The WhatsApp webhook
    "webhook.signature_missing": (
        "Falta la firma X-Hub-Signature-256 (sha256=…) del aviso",
        "The notification lacks its X-Hub-Signature-256 (sha256=…) signature",
    ),
    "webhook.signature_invalid": (
        "La firma del aviso no es válida",
        "The notification's signature is not valid",
    ),
    "webhook.verify_token_invalid": (
        "El token de verificación no es válido",
        "The verify token is not valid",
    ),
    "webhook.not_configured": (
        "El webhook de WhatsApp no está configurado en este servidor",
        "The WhatsApp webhook is not configured on this server",
    ),
    # Conversations and AI automation
    "conversation.window_closed": (
        "La ventana de 24 horas está cerrada: solo puedes responder libremente durante las 24 "
        "horas siguientes al último mensaje del contacto (fuera de ella, usa una plantilla)",
        "The 24-hour window is closed: free-form replies are possible only within 24 hours of "
        "the contact's last message (outside it, use a template)",
    ),
    "conversation.opted_out": (
        "El contacto se ha dado de baja y no quiere recibir mensajes",
        "The contact opted out and does not want to receive messages",
    ),
    "conversation.channel_not_configured": (
        "Configura tu clave de API y el ID de número de WhatsApp en tu perfil para responder",
        "Set up your WhatsApp API key and phone number ID in your profile to reply",
    ),
    "conversation.send_failed": (
        "WhatsApp no aceptó el mensaje ({reason}); queda guardado como fallido",
        "WhatsApp did not accept the message ({reason}); it is kept as failed",
    ),
    "automation.not_configured": (
        "Configura tu clave de API de Gemini en tu perfil para usar la IA",
        "Set up your Gemini API key in your profile to use the AI",
    ),
    "automation.gemini_key_rejected": (
        "Gemini rechazó tu clave de API; revísala en tu perfil",
        "Gemini refused your API key; check it in your profile",
    ),
    "automation.gemini_failed": (
        "Gemini no pudo generar una respuesta ({reason}); inténtalo de nuevo más tarde",
        "Gemini could not write an answer ({reason}); please try again later",
    ),
    # Imports
    "import.unreadable": ("No se pudo leer el archivo", "The file could not be read"),
    "import.empty": ("El archivo está vacío", "The file is empty"),
    "import.undecodable": (
        "No se pudo leer el archivo: su contenido está dañado o no es CSV, XLSX ni vCard válido",
        "The file could not be read: it is damaged, or not a valid CSV, XLSX or vCard file",
    ),
    "import.unsupported_type": (
        "Tipo de archivo no admitido: sube un CSV, un Excel (.xlsx) o un vCard (.vcf)",
        "Unsupported file type: upload a CSV, an Excel (.xlsx) or a vCard (.vcf) file",
    ),
    "import.file_required": (
        "Adjunta el archivo a importar en el campo file",
        "Attach the file to import in the file field",
    ),
    "import.multipart_expected": (
        "El archivo debe enviarse como multipart/form-data",
        "The file must be sent as multipart/form-data",
    ),
    "import.too_large": (
        "El archivo supera el tamaño máximo de importación ({limit})",
        "The file is larger than the import limit ({limit})",
    ),
    "import.rate_limited": (
        "Demasiadas importaciones; inténtalo de nuevo en {retry_after} segundos",
        "Too many imports; try again in {retry_after} seconds",
    ),
    "import.concurrent_changes": (
        "Otros cambios en tus contactos impidieron completar la importación; vuelve a intentarlo",
        "Other changes to your contacts kept the import from finishing; please try again",
    ),
    "import.failed": (
        "La importación no pudo completarse; no se guardó ningún contacto",
        "The import could not be completed; no contact was saved",
    ),
    "import.no_columns": (
        "El archivo no tiene ninguna columna de nombre, teléfono o correo electrónico",
        "The file has no name, phone or email column",
    ),
    "import.on_duplicate_invalid": (
        "on_duplicate debe ser skip o update",
        "on_duplicate must be skip or update",
    ),
    "import.name_required": ("Falta el nombre", "The name is missing"),
    "import.name_too_long": (
        "El nombre supera los {max} caracteres",
        "The name is longer than {max} characters",
    ),
    "import.email_too_long": (
        "El correo electrónico supera los {max} caracteres",
        "The email address is longer than {max} characters",
    ),
    "import.notes_too_long": (
        "Las notas superan los {max} caracteres",
        "The notes are longer than {max} characters",
    ),
    "import.opted_out_invalid": (
        "La baja debe ser sí o no (también true/false o 1/0)",
        "Opted out must be yes or no (or true/false, 1/0)",
    ),
    "import.row_invalid": ("La fila no es válida", "The row is not valid"),
    # Unsubscribe links (the page shows the Spanish and the English text of each)
    "unsubscribe.link_invalid": (
        "Este enlace de baja no es válido o ya no está disponible",
        "This unsubscribe link is not valid or no longer available",
    ),
    "unsubscribe.invalid_title": ("Enlace no válido", "Invalid link"),
    "unsubscribe.done_title": ("Baja confirmada", "Unsubscribed"),
    # Success messages
    "ok.registered": ("Usuario registrado correctamente", "Registered successfully"),
    "ok.logged_in": ("Sesión iniciada correctamente", "Logged in successfully"),
    "ok.logged_out": ("Sesión cerrada correctamente", "Logged out successfully"),
    "ok.password_changed": ("Contraseña actualizada correctamente", "Password changed"),
    "ok.account_deleted": ("Cuenta eliminada correctamente", "Account deleted"),
    "ok.profile_updated": ("Perfil actualizado correctamente", "Profile updated"),
    "ok.contact_created": ("Contacto creado correctamente", "Contact created"),
    "ok.contact_updated": ("Contacto actualizado correctamente", "Contact updated"),
    "ok.contact_deleted": ("Contacto eliminado correctamente", "Contact deleted"),
    "ok.contacts_deleted": (
        "Contactos eliminados: {deleted_count}",
        "Contacts deleted: {deleted_count}",
    ),
    "ok.campaign_created": ("Campaña creada correctamente", "Campaign created"),
    "ok.campaign_updated": ("Campaña actualizada correctamente", "Campaign updated"),
    "ok.campaign_deleted": ("Campaña eliminada correctamente", "Campaign deleted"),
    "ok.campaign_sent": ("Envío de la campaña iniciado", "Campaign sending started"),
    "ok.campaign_scheduled": ("Campaña programada correctamente", "Campaign scheduled"),
    "ok.campaign_paused": ("Campaña pausada", "Campaign paused"),
    "ok.campaign_resumed": ("Campaña reanudada", "Campaign resumed"),
    "ok.campaign_cancelled": ("Campaña cancelada", "Campaign cancelled"),
    "ok.campaign_retrying": (
        "Los envíos fallidos se reintentarán",
        "The failed deliveries will be retried",
    ),
    "ok.reply_sent": ("Mensaje enviado", "Message sent"),
    "ok.automation_enabled": (
        "Respuestas automáticas activadas",
        "Automatic replies turned on",
    ),
    "ok.automation_disabled": (
        "Respuestas automáticas desactivadas",
        "Automatic replies turned off",
    ),
    "ok.unsubscribed": (
        "Te has dado de baja: no recibirás más mensajes de esta lista",
        "You have been unsubscribed: you will receive no more messages from this list",
    ),
    "ok.imported": (
        "Importación completada: {imported} nuevos, {updated} actualizados, "
        "{duplicate} duplicados, {invalid} no válidos",
        "Import finished: {imported} new, {updated} updated, {duplicate} duplicates, "
        "{invalid} invalid",
    ),
    # HTTP
    "http.bad_request": ("La solicitud no es válida", "The request is not valid"),
    "http.malformed_json": (
        "El cuerpo de la solicitud no es JSON válido",
        "The request body is not valid JSON",
    ),
    "http.json_object_expected": (
        "El cuerpo de la solicitud debe ser un objeto JSON",
        "The request body must be a JSON object",
    ),
    "http.unsupported_media_type": (
        "El cuerpo debe enviarse como application/json",
        "The body must be sent as application/json",
    ),
    "http.not_found": ("La ruta solicitada no existe", "The requested path does not exist"),
    "http.method_not_allowed": (
        "Método no permitido en esta ruta",
        "Method not allowed on this path",
    ),
    "http.body_too_large": (
        "El cuerpo de la solicitud es demasiado grande",
        "The request body is too large",
    ),
    "http.csrf_rejected": (
        "Solicitud rechazada: origen no permitido",
        "Request refused: origin not allowed",
    ),
    "http.cors_refused": (
        "Solicitud entre sitios rechazada: origen, método o cabecera no permitidos",
        "Cross-site request refused: origin, method or header not allowed",
    ),
    "http.internal_error": (
        "Error interno del servidor; inténtalo de nuevo más tarde",
        "Internal server error; please try again later",
    ),
    "http.unavailable": ("El servicio no está disponible", "The service is unavailable"),
}


def translate(code: str, language: str, params: Mapping[str, Any] | None = None) -> str:
    """The message for ``code`` in ``language`` (``es`` or ``en``), with ``params`` filled in."""
    spanish, english = CATALOGUE.get(code) or CATALOGUE["http.bad_request"]
    template = english if language == "en" else spanish
    if not params:
        return template
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def stored_message(text: str | None, language: str) -> str | None:
    """A message stored as a catalogue code (an import's error), in ``language``; any other
    text as it is."""
    if text is None or text not in CATALOGUE:
        return text
    return translate(text, language)
