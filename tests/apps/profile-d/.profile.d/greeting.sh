# Sourced at process start, after config vars and PORT are set.
export FROM_PROFILE="profile.d saw GREETING=${GREETING:-unset} and PORT=${PORT:+set}"
