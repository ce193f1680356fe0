package azure

import (
	"encoding/json"
	"strings"

	"github.com/vigildb/vigil/event"
)

// actProps are the properties of an Activity Log record that matter here.
type actProps struct {
	StatusCode jstr `json:"statusCode"`
	Caller     jstr `json:"caller"`
}

// identity is the activity log's identity object.
type identity struct {
	Authorization struct {
		Evidence struct {
			PrincipalID   jstr `json:"principalId"`
			PrincipalType jstr `json:"principalType"`
		} `json:"evidence"`
	} `json:"authorization"`
	Claims map[string]jstr `json:"claims"`
}

// callerClaims are the claims that name the caller, best first.
var callerClaims = []string{
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
	"upn",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
	"unique_name",
	"name",
	"appid",
	"http://schemas.microsoft.com/identity/claims/objectidentifier",
	"oid",
}

// outcome reads resultType / status: Success/Succeeded are successes,
// Failure/Failed failures; Start, Accept (an asynchronous operation was
// accepted and runs on), Active and the like say nothing yet.
func outcome(vals ...jstr) string {
	for _, v := range vals {
		switch strings.ToLower(strings.TrimSpace(string(v))) {
		case "success", "succeeded", "ok":
			return event.OutcomeSuccess
		case "failure", "failed", "fail", "error":
			return event.OutcomeFailure
		}
	}
	return ""
}

// activity maps an Activity Log record: a control-plane operation, with
// event.action the ARM operation name in lower case.
func (p *Parser) activity(r *rec) {
	env := r.env
	op := strings.TrimSpace(string(env.OperationName))
	if op == "" {
		p.stats.Ignored++
		return
	}
	var pr actProps
	_ = props(r, &pr) // best effort: the rest of the record stands on its own
	ev := &event.Event{}
	ev.ID = r.pos.id()
	ev.Time = r.t
	ev.Source.Kind = KindActivity
	ev.Log.File, ev.Log.Line = r.pos.file, r.pos.line
	ev.Log.Level = string(env.Level)
	rid := string(env.ResourceID)
	server, child := resource(rid)
	ev.Server.Address = server
	ev.DB.Namespace, ev.DB.Collection.Name = childNames(rid, child)
	ev.DB.System.Name = system(op)
	if ev.DB.System.Name == "" {
		ev.DB.System.Name = system(server)
	}
	ev.Event.Category = event.CategoryControlPlane
	ev.Event.Action = strings.ToLower(op)
	ev.DB.Operation.Name = op
	ev.Event.Outcome = outcome(env.ResultType, env.Status)
	ev.Session.ID = string(env.CorrelationID)
	ev.Client.Address = strings.TrimSpace(string(env.CallerIPAddress))
	ev.DB.Response.StatusCode = string(pr.StatusCode)
	if ev.DB.Response.StatusCode == "" {
		ev.DB.Response.StatusCode = string(env.ResultSignature)
	}
	ev.User.Name = string(env.Caller)
	if ev.User.Name == "" {
		ev.User.Name = string(pr.Caller)
	}
	if ev.User.Name == "" && len(env.Identity) > 0 && env.Identity[0] == '{' {
		var id identity
		if json.Unmarshal(env.Identity, &id) == nil {
			for _, c := range callerClaims {
				if v := id.Claims[c]; v != "" {
					ev.User.Name = string(v)
					break
				}
			}
			if ev.User.Name == "" {
				ev.User.Name = string(id.Authorization.Evidence.PrincipalID)
			}
		}
	}
	p.out(ev)
}
