-- Argo CD health check for crosslink.dev/ObservabilityStack.
-- Installed through argocd-cm (see argocd-cm.yaml beside this file); Argo CD
-- passes the live object as `obj`. Only base-library functions are used, so
-- it needs no resource.customizations.useOpenLibs.
--   Progressing  no status yet, metadata.generation not yet observed,
--                Reconciling=True, or Ready missing/Unknown
--   Degraded     Stalled=True, or Ready=False (generation observed)
--   Healthy      Ready=True (generation observed)
local function text(c, fallback)
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
end

local hs = { status = "Progressing", message = "Waiting for crosslink to observe the stack" }
local st = obj.status
if st == nil or st.observedGeneration == nil then
  return hs
end
if obj.metadata ~= nil and obj.metadata.generation ~= nil and st.observedGeneration ~= obj.metadata.generation then
  hs.message = "Waiting for crosslink to observe the latest generation"
  return hs
end
local cond = {}
if st.conditions ~= nil then
  for _, c in ipairs(st.conditions) do
    if c.type ~= nil then
      cond[c.type] = c
    end
  end
end
if cond.Stalled ~= nil and cond.Stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = text(cond.Stalled, "Stalled")
  return hs
end
if cond.Reconciling ~= nil and cond.Reconciling.status == "True" then
  hs.message = text(cond.Reconciling, "Reconciling")
  return hs
end
local ready = cond.Ready
if ready == nil then
  hs.message = "Waiting for the Ready condition"
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
elseif ready.status == "False" then
  hs.status = "Degraded"
end
hs.message = text(ready, "Ready is " .. tostring(ready.status))
return hs
